using System.Globalization;

namespace Tao.Flywheel;

/// <summary>
/// The promotion rule, in one place: promote only when the lower bound of the 95 % interval of the gain clears the margin
/// on at least one signal, and no signal shows a significant loss (its interval entirely below zero). A gain inside its
/// interval is noise, whatever its sign; a candidate identical to the live version can never pass.
/// </summary>
public sealed class PromotionPolicy(double margin)
{
    public PromotionDecision Decide(IReadOnlyList<PromotionSignal> signals)
    {
        if (signals.Count == 0 || signals.All(s => s.Comparison.Items == 0))
        {
            return new PromotionDecision(false, "no signal to judge the candidate by (no held-out or labelled inputs)", []);
        }

        var verdicts = signals.Select(s => new PromotionDecision.Verdict(s,
            s.Comparison.SignificantLoss ? "significant loss" : s.Comparison.Low > margin ? "clears the margin" : "inside its interval")).ToList();
        var losses = verdicts.Where(v => v.Outcome == "significant loss").ToList();
        if (losses.Count > 0)
        {
            return new PromotionDecision(false, "significant loss on " + string.Join("; ", losses.Select(v => Describe(v.Signal))), verdicts);
        }

        var wins = verdicts.Where(v => v.Outcome == "clears the margin").ToList();
        return wins.Count == 0
            ? new PromotionDecision(false, string.Create(CultureInfo.InvariantCulture, $"no gain clears the margin {margin:0.###} with 95 % confidence: ") +
                string.Join("; ", verdicts.Select(v => Describe(v.Signal))), verdicts)
            : new PromotionDecision(true, "significant gain on " + string.Join("; ", wins.Select(v => Describe(v.Signal))), verdicts);
    }

    public static string Describe(PromotionSignal signal)
    {
        var c = signal.Comparison;
        var p = double.IsNaN(c.PValue) ? ")" : string.Create(CultureInfo.InvariantCulture, $", p {c.PValue:0.####})");
        return string.Create(CultureInfo.InvariantCulture,
            $"{signal.Name} {c.MeanA:0.000} → {c.MeanB:0.000} ({c.Gain * 100:+0.0;-0.0} points [{c.Low * 100:+0.0;-0.0}, {c.High * 100:+0.0;-0.0}], {c.Items} items{p}");
    }
}
