namespace Tao.Flywheel;

/// <summary>
/// Where a round stands and what it decided (<see cref="RoundRecord.Status"/> and <see cref="RoundRecord.Decision"/>,
/// the flywheel_rounds table, the dashboard). Strings on the wire, named only here. A decision that is about the
/// candidate version is that version's <see cref="VersionStatus"/> too.
/// </summary>
public static class RoundStatus
{
    /// <summary>In flight, or interrupted: the next leader resumes it from its folder or abandons it.</summary>
    public const string Running = "running";

    public const string Promoted = VersionStatus.Promoted;
    public const string Rejected = VersionStatus.Rejected;
    public const string RolledBack = VersionStatus.RolledBack;

    /// <summary>Threw before deciding; the reason says why.</summary>
    public const string Failed = "failed";

    /// <summary>Interrupted and its working folder gone: it cannot be resumed and promotes nothing.</summary>
    public const string Abandoned = "abandoned";

    /// <summary>A round whose gate judged its inputs (promoted or rejected): the group's watermark moves past them.</summary>
    public static bool JudgedItsInputs(string status) => status is Promoted or Rejected;
}
