namespace Tao.Trainer.Training;

/// <summary>One line of a round's metrics log (JSON lines), written after every optimiser step and iteration.</summary>
public sealed record RoundMetrics
{
    public string Event { get; init; } = "step";
    public int Iteration { get; init; }
    public int Step { get; init; }
    public double? Loss { get; init; }
    public double? LearningRate { get; init; }
    public double? RewardMean { get; init; }
    public double? RewardStd { get; init; }

    /// <summary>Mean share of each group at its best score (how much the samples agree on the pick).</summary>
    public double? Agreement { get; init; }

    public int? Groups { get; init; }

    /// <summary>Groups whose pick was not trusted (flat, below the minimum score, or without a confident majority).</summary>
    public int? SkippedGroups { get; init; }

    /// <summary>Share of groups with a candidate at or above the minimum score (pass@N as the scorer sees it).</summary>
    public double? LabelFreePass { get; init; }

    /// <summary>Mean negative log-probability of the sampled tokens: the policy's entropy at the sampling temperature.</summary>
    public double? Entropy { get; init; }

    /// <summary>Mean tokens per sampled answer.</summary>
    public double? AnswerTokens { get; init; }

    /// <summary>Prompts with targets in the expert-iteration buffer.</summary>
    public int? BufferSize { get; init; }

    /// <summary>Share of the round's training inputs with a target in the buffer.</summary>
    public double? Coverage { get; init; }

    /// <summary>Diagnostics with labels (see TaoRound.Oracle): share of this iteration's selected targets that are right.</summary>
    public double? TargetPrecision { get; init; }

    /// <summary>Diagnostics with labels: share of the buffer's targets that are right.</summary>
    public double? BufferPrecision { get; init; }

    /// <summary>Diagnostics with labels: share of groups whose best-scored candidate is right.</summary>
    public double? PickAccuracy { get; init; }

    /// <summary>Diagnostics with labels: share of groups with at least one right candidate.</summary>
    public double? PassAtN { get; init; }

    public double? Kl { get; init; }
    public double? HeldOut { get; init; }

    /// <summary>Label-free dev score of the policy after this iteration.</summary>
    public double? Dev { get; init; }

    public double? TokensPerSecond { get; init; }
    public double ElapsedSeconds { get; init; }
    public string? Note { get; init; }
}
