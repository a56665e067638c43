namespace Tao.Trainer.Training;

/// <summary>What a round did: its metrics, the iteration kept (and the score it was kept for), and why it stopped.</summary>
public sealed record TaoRoundResult(
    IReadOnlyList<RoundMetrics> Metrics,
    int BestIteration,
    double? BestHeldOut,
    bool StoppedByGuard,
    string StopReason,
    long TrainingTokens,
    TimeSpan TrainingTime)
{
    public double TrainingTokensPerSecond => TrainingTokens / Math.Max(1e-9, TrainingTime.TotalSeconds);

    /// <summary>Label-free dev score of every iteration (0 = the starting model), when the round had a dev slice.</summary>
    public IReadOnlyDictionary<int, double>? DevScores { get; init; }
}
