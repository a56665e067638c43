using System.Globalization;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Trainer.Tasks;

/// <summary>
/// Generic copying mixed into a base model's training: small transformers trained from scratch learn to copy spans
/// (names, numbers, dates) far sooner with them, and every enterprise task here needs copying. Two kinds: "repeat what is
/// in brackets", and "look up a field by its label" in a short record of random values.
/// </summary>
internal static class CopyCurriculum
{
    private static readonly string[] Words = ["alpha", "north", "river", "ltd", "gmbh", "berlin", "paris", "meyer", "rossi", "invoice", "order", "total", "due", "amount"];
    private static readonly string[] Labels = ["code", "ref", "id", "amount", "account", "ticket", "batch", "serial", "price", "balance", "zone", "lot"];

    public static IEnumerable<SupervisedTrainer.Example> Examples(int seed, int count)
    {
        var random = new Random(seed * 31 + 5);
        for (var i = 0; i < count; i++)
        {
            var parts = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Value(random));
            var text = string.Join(' ', parts);
            var filler = string.Join(' ', Enumerable.Range(0, random.Next(0, 6)).Select(_ => Words[random.Next(Words.Length)]));
            yield return new SupervisedTrainer.Example(
                [new ChatMessage("user", $"{filler} [{text}] {filler}\nquestion: what is in brackets?".Trim())], text);
        }
    }

    /// <summary>"code 4821, amount 7571.52 EUR, zone north. question: what is the amount?" → "7571.52 EUR".</summary>
    public static IEnumerable<SupervisedTrainer.Example> Lookups(int seed, int count)
    {
        var random = new Random(seed * 37 + 11);
        for (var i = 0; i < count; i++)
        {
            var labels = Labels.OrderBy(_ => random.Next()).Take(random.Next(2, 5)).ToList();
            var values = labels.Select(_ => Value(random)).ToList();
            var asked = random.Next(labels.Count);
            var record = string.Join(", ", labels.Select((l, j) => $"{l} {values[j]}"));
            yield return new SupervisedTrainer.Example([new ChatMessage("user", $"{record}.\nquestion: what is the {labels[asked]}?")], values[asked]);
        }
    }

    private static string Value(Random random) => random.Next(6) switch
    {
        0 => Words[random.Next(Words.Length)],
        1 => random.Next(10, 99999).ToString(CultureInfo.InvariantCulture),
        2 => new DateTime(2025, 1, 1).AddDays(random.Next(365)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        3 => $"{random.Next(100, 9999)}.{random.Next(0, 100):D2} {new[] { "EUR", "USD", "GBP" }[random.Next(3)]}",
        4 => $"{new[] { "INV", "PO", "AB", "TX" }[random.Next(4)]}-{random.Next(100, 99999)}",
        _ => $"{Words[random.Next(Words.Length)]}-{random.Next(100, 9999)}",
    };
}
