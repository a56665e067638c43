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

    /// <summary>Label-free dev score after each epoch of the polish on the final buffer (none when it did not run).</summary>
    public IReadOnlyDictionary<int, double>? PolishDevScores { get; init; }

    /// <summary>The kept weights are the polish's after this many epochs; 0 when an iteration's weights were kept.</summary>
    public int PolishEpoch { get; init; }

    /// <summary>Time spent sampling and scoring candidates, and scoring the dev slice (training: <see cref="TrainingTime"/>).</summary>
    public TimeSpan SamplingTime { get; init; }
    public TimeSpan DevTime { get; init; }

    /// <summary>Iterations the round ran (fewer than asked when the buffer stopped growing or a guard stopped it).</summary>
    public int Iterations { get; init; }
}
