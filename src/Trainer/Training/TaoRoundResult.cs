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

    /// <summary>
    /// Label-free dev score of each polish run's last epoch, the weights that compete (none when it did not run), keyed
    /// (run − 1) × 100 + epoch: 12 for the first run of twelve epochs, 112 for the second. Earlier epochs' scores, when
    /// taken, are in the metrics.
    /// </summary>
    public IReadOnlyDictionary<int, double>? PolishDevScores { get; init; }

    /// <summary>The kept weights are the polish's after this many epochs of pass <see cref="PolishPass"/>; 0 when an iteration's weights were kept.</summary>
    public int PolishEpoch { get; init; }

    public int PolishPass { get; init; }

    /// <summary>The learning rate of the kept polish (chosen among the rate factors on the dev slice).</summary>
    public double PolishRate { get; init; }

    /// <summary>
    /// The rate the polish's dev slice chose, whether or not the polish's weights were kept in the end (0 when no polish
    /// ran): what a later round on the same task can reuse instead of trying every rate again.
    /// </summary>
    public double ChosenPolishRate { get; init; }

    /// <summary>Polish passes run (each after the previous pass's weights found new targets).</summary>
    public int PolishPasses { get; init; }

    /// <summary>Time spent sampling and scoring candidates, and scoring the dev slice (training: <see cref="TrainingTime"/>).</summary>
    public TimeSpan SamplingTime { get; init; }
    public TimeSpan DevTime { get; init; }

    /// <summary>Iterations the round ran (fewer than asked when the buffer stopped growing or a guard stopped it).</summary>
    public int Iterations { get; init; }
}
