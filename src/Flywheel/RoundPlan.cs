namespace Tao.Flywheel;

/// <summary>
/// The inputs a round uses, fixed when it starts and kept in its folder, so a round resumed after a restart tunes and
/// evaluates on exactly the same inputs.
/// </summary>
public sealed record RoundPlan(string RoundId, string Group, string ParentVersion, DateTime WindowFrom, DateTime WindowTo,
    List<CapturedInput> Tuning, List<CapturedInput> HeldOut, List<CapturedInput> Older, DateTime StartedAt);
