namespace Tao.Gateway.Health;

/// <summary>What /readyz requires.</summary>
public sealed class ReadinessOptions
{
    public const string Section = "Tao:Gateway:Readiness";

    /// <summary>
    /// Report ready while a sink is down. The spool absorbs sink outages, so behind a load balancer you may want
    /// replicas to keep taking traffic then (the deploy manifests set this). Default: false.
    /// </summary>
    public bool IgnoreSinks { get; set; }

    /// <summary>Seconds between probes of sinks and upstreams. Default: 5.</summary>
    public int ProbeIntervalSeconds { get; set; } = 5;
}
