namespace Tao.Flywheel;

/// <summary>A round as recorded in flywheel_rounds (and shown by the status API, the CLI and the dashboard).</summary>
public sealed record RoundRecord
{
    public string RoundId { get; init; } = string.Empty;
    public string Group { get; init; } = string.Empty;
    public IReadOnlyList<string> Tasks { get; init; } = [];

    /// <summary>A <see cref="RoundStatus"/>: running, promoted, rejected, rolled_back, failed or abandoned.</summary>
    public string Status { get; init; } = RoundStatus.Running;

    public DateTime StartedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime WindowFrom { get; init; }
    public DateTime WindowTo { get; init; }
    public int Inputs { get; init; }
    public int TuningInputs { get; init; }
    public int HeldOutInputs { get; init; }
    public string ParentVersion { get; init; } = string.Empty;
    public string CandidateVersion { get; init; } = string.Empty;
    public double RewardFirst { get; init; }
    public double RewardLast { get; init; }
    public Dictionary<string, double> Evaluation { get; init; } = new(StringComparer.Ordinal);
    public string Decision { get; init; } = string.Empty;
    public string Reason { get; init; } = string.Empty;
    public double DurationSeconds { get; init; }
}
