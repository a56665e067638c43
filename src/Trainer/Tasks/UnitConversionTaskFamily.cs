using System.Globalization;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;

using Tao.Trainer.Generation;
namespace Tao.Trainer.Tasks;

/// <summary>
/// Unit conversions asked in words: the verifier regime, where a user has a checker but no labels. Any answer is checked
/// by substituting it back (<see cref="UnitConversionScorer"/>: a units table, no solution), so label-free scoring is
/// exact. The base model learned conversions mostly as "convert 45 km to m"; the traffic asks "a trail is 45 km long. how
/// many meters is that?" — unit names instead of symbols, the quantity inside a sentence.
/// </summary>
internal sealed class UnitConversionTaskFamily : ITaskFamily
{
    public const string System = "Answer with the number and the unit symbol.";

    public string Name => "units";

    public int MaxAnswerTokens => 12;

    /// <summary>A conversion: the base model's wording, the traffic's wording, and the answer.</summary>
    public sealed record Conversion(string Base, string Traffic, string Answer);

    /// <summary>Splits by conversion: no held-out question converts a quantity seen in training or tuning. Counts are conversions.</summary>
    public TaskSplit Generate(int seed, int baseTraining, int tuning, int heldOut, int trafficSeed)
    {
        var pool = Conversions().OrderBy(c => c.Base, StringComparer.Ordinal).ToList();
        var random = new Random(seed);
        pool = pool.OrderBy(_ => random.Next()).ToList();
        if (pool.Count < baseTraining + tuning + heldOut)
        {
            throw new ArgumentException($"the units family has {pool.Count} distinct conversions; asked for {baseTraining + tuning + heldOut}");
        }

        var traffic = new Random(trafficSeed);
        var rest = pool.Skip(baseTraining).OrderBy(_ => traffic.Next()).ToList();
        LabelledExample Example(Conversion c, bool asTraffic, string id) =>
            new(new TaskPrompt(id, [new ChatMessage("system", System), new ChatMessage("user", asTraffic ? c.Traffic : c.Base)]), c.Answer);
        return new TaskSplit(
            pool.Take(baseTraining).Select((c, i) => Example(c, i % 8 == 7, $"units-{seed}-{i}")).ToList(),
            rest.Take(tuning).Select((c, i) => Example(c, true, $"units-{trafficSeed}-t{i}")).ToList(),
            rest.Skip(tuning).Take(heldOut).Select((c, i) => Example(c, true, $"units-{trafficSeed}-h{i}")).ToList());
    }

    private static readonly (string From, string To, int Ratio)[] Pairs =
    [
        ("km", "m", 1000), ("m", "cm", 100), ("m", "mm", 1000), ("cm", "mm", 10),
        ("kg", "g", 1000), ("g", "mg", 1000), ("l", "ml", 1000), ("l", "cl", 100), ("cl", "ml", 10),
    ];

    /// <summary>Every conversion: 1 to 99 of a larger unit into a smaller one, and whole multiples of a smaller unit back into the larger.</summary>
    public static IEnumerable<Conversion> Conversions()
    {
        foreach (var (big, small, ratio) in Pairs)
        {
            for (var v = 1; v <= 99; v++)
            {
                yield return Make(v, big, v * ratio, small);
                yield return Make(v * ratio, small, v, big);
            }
        }
    }

    private static Conversion Make(int value, string from, int result, string to)
    {
        var unit = UnitConversionScorer.Units.First(u => u.Symbol == to);
        var name = unit.Names[1]; // plural
        var v = value.ToString(CultureInfo.InvariantCulture);
        var traffic = (unit.Dimension, (value + result) % 2) switch
        {
            ("length", 0) => $"a trail is {v} {from} long. how many {name} is that?",
            ("mass", 0) => $"a parcel weighs {v} {from}. how many {name} is that?",
            ("volume", 0) => $"the bottle holds {v} {from}. what is that in {name}?",
            _ => $"how many {name} are in {v} {from}?",
        };
        return new Conversion($"convert {v} {from} to {to}", traffic, $"{result.ToString(CultureInfo.InvariantCulture)} {to}");
    }

    public Task PrepareAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Substitution: the answer, converted back, is the quantity the question gives.</summary>
    public IScorer Scorer() => new UnitConversionScorer();

    /// <summary>Right when the answer is the gold quantity (the verifier is exact here, so this is also what it checks).</summary>
    public Task<bool> IsCorrectAsync(LabelledExample example, string answer, CancellationToken cancellationToken) =>
        Task.FromResult(UnitConversionScorer.Parse(PromptQuestion.Of(example.Prompt.Text)) is { } question
            && UnitConversionScorer.Holds(question, answer) && UnitConversionScorer.Holds(question, example.Gold));
}
