namespace Tao.Gateway.Health;

/// <summary>The body of /readyz.</summary>
internal sealed record ReadinessReport(string Status, SpoolReport Spool, IReadOnlyList<SinkReport> Sinks, IReadOnlyList<UpstreamReport> Upstreams)
{
    public bool Ready => Status == "ready";
}
