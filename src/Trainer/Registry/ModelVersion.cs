namespace Tao.Trainer.Registry;

/// <summary>One version in the registry: where it came from, what it was tuned on, how it evaluated, what was decided.</summary>
public sealed record ModelVersion
{
    public string Id { get; init; } = string.Empty;

    /// <summary>The version it was tuned from (null for a base model): base → round 1 → round 2 ...</summary>
    public string? Parent { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
    public IReadOnlyList<string> Tasks { get; init; } = [];

    /// <summary>Captured inputs the round tuned on: their time window and count.</summary>
    public DataWindow? Data { get; init; }

    /// <summary>The scorer configuration the round used.</summary>
    public string? Scorer { get; init; }

    public string? RoundId { get; init; }

    /// <summary>Evaluation results by name (e.g. "label_free.sql", "labelled.sql"), for this version and the one it was compared with.</summary>
    public Dictionary<string, double> Evaluation { get; init; } = new(StringComparer.Ordinal);

    /// <summary>candidate, promoted, rejected, rolled_back, base.</summary>
    public string Status { get; init; } = "candidate";

    public string? Decision { get; init; }

    /// <summary>SHA-256 of every file of the version, checked when it is loaded.</summary>
    public Dictionary<string, string> Checksums { get; init; } = new(StringComparer.Ordinal);
}
