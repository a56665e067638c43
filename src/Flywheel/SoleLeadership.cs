namespace Tao.Flywheel;

/// <summary>The single-machine default: this instance always leads.</summary>
internal sealed class SoleLeadership : ILeadership
{
    public bool IsLeader => true;

    public string Identity => Environment.MachineName;
}
