namespace Tao.Flywheel;

/// <summary>Leader election among flywheel replicas (see <see cref="KafkaLeadership"/>).</summary>
public sealed class LeaderOptions
{
    /// <summary>None (single instance) or Kafka (group membership on a one-partition topic). Default: None.</summary>
    public string Kind { get; set; } = "None";

    public string BootstrapServers { get; set; } = string.Empty;
    public string Topic { get; set; } = "tao.flywheel.leader";
    public string GroupId { get; set; } = "tao-flywheel-leader";

    /// <summary>How long a silent leader keeps the role, in milliseconds. Default: 10000.</summary>
    public int SessionTimeoutMs { get; set; } = 10_000;
}
