namespace Tao.Trainer.Training;

/// <summary>One line of a round's metrics log (JSON lines), written after every optimiser step and iteration.</summary>
public sealed record RoundMetrics
{
    public string Event { get; init; } = "step";
    public int Iteration { get; init; }
    public int Step { get; init; }
    public double? Loss { get; init; }
    public double? RewardMean { get; init; }
    public double? RewardStd { get; init; }

    /// <summary>Share of each group agreeing with its most common answer (pseudo-label agreement).</summary>
    public double? Agreement { get; init; }

    public int? Groups { get; init; }
    public int? SkippedGroups { get; init; }
    public double? Kl { get; init; }
    public double? HeldOut { get; init; }
    public double? TokensPerSecond { get; init; }
    public double ElapsedSeconds { get; init; }
    public string? Note { get; init; }
}
