namespace Tao.Flywheel;

/// <summary>The rule's outcome, its reason in words, and what it concluded from each signal.</summary>
public sealed record PromotionDecision(bool Promote, string Reason, IReadOnlyList<PromotionDecision.Verdict> Verdicts)
{
    public sealed record Verdict(PromotionSignal Signal, string Outcome);

    /// <summary>Every number behind the decision, as the round records it (flywheel_rounds.evaluation).</summary>
    public Dictionary<string, double> Numbers()
    {
        var numbers = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (signal, _) in Verdicts)
        {
            var c = signal.Comparison;
            numbers[$"{signal.Name}.live"] = c.MeanA;
            numbers[$"{signal.Name}.candidate"] = c.MeanB;
            numbers[$"{signal.Name}.gain"] = c.Gain;
            numbers[$"{signal.Name}.low"] = c.Low;
            numbers[$"{signal.Name}.high"] = c.High;
            numbers[$"{signal.Name}.items"] = c.Items;
            numbers[$"{signal.Name}.only_live"] = c.OnlyA;
            numbers[$"{signal.Name}.only_candidate"] = c.OnlyB;
            if (!double.IsNaN(c.PValue))
            {
                numbers[$"{signal.Name}.p"] = c.PValue;
            }
        }

        return numbers;
    }
}
