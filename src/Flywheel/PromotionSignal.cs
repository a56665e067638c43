using Tao.Trainer.Evaluation;

namespace Tao.Flywheel;

/// <summary>
/// One piece of evidence about a candidate against the live version: a paired comparison on the same items, what it
/// measured (labelled canary accuracy, label-free verifier pass rate, live error rate), and for which task.
/// </summary>
public sealed record PromotionSignal(string Task, SignalKind Kind, PairedComparison Comparison)
{
    public string Name => $"{Kind.Key()}.{Task}";
}
