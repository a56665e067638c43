using System.Globalization;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Trainer.Tasks;

/// <summary>
/// Generic "repeat this" examples mixed into a base model's training: small transformers trained from scratch learn to
/// copy spans (names, numbers, dates) far sooner with them, and every enterprise task here needs copying.
/// </summary>
public static class CopyCurriculum
{
    private static readonly string[] Words = ["alpha", "north", "river", "ltd", "gmbh", "berlin", "paris", "meyer", "rossi", "invoice", "order", "total", "due", "amount"];

    public static IEnumerable<SupervisedTrainer.Example> Examples(int seed, int count)
    {
        var random = new Random(seed * 31 + 5);
        for (var i = 0; i < count; i++)
        {
            var parts = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(4) switch
            {
                0 => Words[random.Next(Words.Length)],
                1 => random.Next(10, 99999).ToString(CultureInfo.InvariantCulture),
                2 => new DateTime(2025, 1, 1).AddDays(random.Next(365)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                _ => $"{Words[random.Next(Words.Length)]}-{random.Next(100, 9999)}",
            });
            var text = string.Join(' ', parts);
            var filler = string.Join(' ', Enumerable.Range(0, random.Next(0, 6)).Select(_ => Words[random.Next(Words.Length)]));
            yield return new SupervisedTrainer.Example(
                [new ChatMessage("user", $"{filler} [{text}] {filler}\nquestion: what is in brackets?".Trim())], text);
        }
    }
}
