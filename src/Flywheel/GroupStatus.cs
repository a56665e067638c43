namespace Tao.Flywheel;

/// <summary>What the status API says about one model group.</summary>
public sealed record GroupStatus(
    string Group, string Alias, string? LiveVersion, IReadOnlyList<string> Tasks, long NewInputs, int Threshold, DateTime Watermark,
    string? ActiveRound, Trainer.Training.RoundProgress? Progress, RoundRecord? LastRound, string Role, string Instance);
