namespace Tao.Flywheel;

/// <summary>Whether this flywheel instance may start rounds. Only one instance of a deployment should.</summary>
public interface ILeadership
{
    bool IsLeader { get; }

    /// <summary>Who this instance is, for status and logs.</summary>
    string Identity { get; }
}
