using System.Globalization;
using System.Text.RegularExpressions;

namespace Tao.Trainer.Scoring;

/// <summary>
/// Verification by substitution for unit conversions: the question gives a quantity ("45 km") and names the unit it
/// wants ("how many meters"); a candidate scores 1 when it is one number and that unit, and converting it back gives the
/// question's quantity exactly. A units table is all it needs — no solution, no label.
/// </summary>
internal sealed partial class UnitConversionScorer : IVerifier
{
    /// <summary>Symbol, names, dimension and size in the dimension's base unit.</summary>
    public sealed record Unit(string Symbol, string[] Names, string Dimension, decimal Size);

    public static readonly IReadOnlyList<Unit> Units =
    [
        new("mm", ["millimeter", "millimeters", "millimetre", "millimetres"], "length", 0.001m),
        new("cm", ["centimeter", "centimeters", "centimetre", "centimetres"], "length", 0.01m),
        new("m", ["meter", "meters", "metre", "metres"], "length", 1m),
        new("km", ["kilometer", "kilometers", "kilometre", "kilometres"], "length", 1000m),
        new("mg", ["milligram", "milligrams"], "mass", 0.001m),
        new("g", ["gram", "grams"], "mass", 1m),
        new("kg", ["kilogram", "kilograms"], "mass", 1000m),
        new("ml", ["milliliter", "milliliters", "millilitre", "millilitres"], "volume", 0.001m),
        new("cl", ["centiliter", "centiliters", "centilitre", "centilitres"], "volume", 0.01m),
        new("l", ["liter", "liters", "litre", "litres"], "volume", 1m),
    ];

    private static readonly Dictionary<string, Unit> s_byWord = Units
        .SelectMany(u => u.Names.Append(u.Symbol).Select(w => (w, u))).ToDictionary(x => x.w, x => x.u, StringComparer.OrdinalIgnoreCase);

    public string Name => "unit_conversion";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var question = Parse(PromptQuestion.Of(group.Prompt));
        return Task.FromResult(group.Candidates.Select(c => question is { } q && Holds(q, c) ? 1.0 : 0.0).ToArray());
    }

    /// <summary>The quantity a question gives and the unit it asks for, or null when it names no conversion.</summary>
    public static (decimal Value, Unit From, Unit To)? Parse(string question)
    {
        var given = Quantity().Matches(question).FirstOrDefault(m => s_byWord.ContainsKey(m.Groups["unit"].Value));
        if (given is null)
        {
            return null;
        }

        var from = s_byWord[given.Groups["unit"].Value];
        var rest = question.Remove(given.Index, given.Length);
        var target = Word().Matches(rest).Select(m => s_byWord.GetValueOrDefault(m.Value)).FirstOrDefault(u => u is not null && u != from && u.Dimension == from.Dimension);
        return target is null ? null : (decimal.Parse(given.Groups["value"].Value, CultureInfo.InvariantCulture), from, target);
    }

    /// <summary>The candidate is "number unit" in the asked unit and equals the given quantity.</summary>
    public static bool Holds((decimal Value, Unit From, Unit To) question, string candidate)
    {
        var answer = Answer().Match(candidate.Trim());
        return answer.Success
            && s_byWord.TryGetValue(answer.Groups["unit"].Value, out var unit) && unit == question.To
            && decimal.TryParse(answer.Groups["value"].Value, NumberStyles.Number, CultureInfo.InvariantCulture, out var value)
            && value * unit.Size == question.Value * question.From.Size;
    }

    [GeneratedRegex(@"(?<value>\d+(?:\.\d+)?)\s*(?<unit>[a-z]+)\b", RegexOptions.IgnoreCase)]
    private static partial Regex Quantity();

    [GeneratedRegex(@"[a-z]+", RegexOptions.IgnoreCase)]
    private static partial Regex Word();

    [GeneratedRegex(@"^(?<value>\d+(?:\.\d+)?)\s*(?<unit>[a-z]+)\.?$", RegexOptions.IgnoreCase)]
    private static partial Regex Answer();
}
