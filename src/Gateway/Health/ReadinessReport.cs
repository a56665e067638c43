namespace Tao.Gateway.Health;

/// <summary>The body of /readyz.</summary>
public sealed record ReadinessReport(string Status, SpoolReport Spool, IReadOnlyList<SinkReport> Sinks, IReadOnlyList<UpstreamReport> Upstreams)
{
    public bool Ready => Status == "ready";
}

public sealed record SpoolReport(bool Full, long BytesOnDisk, long Dropped, long CorruptBytesSkipped);

public sealed record SinkReport(string Name, bool Reachable, long LagBytes, long Delivered, long DeadLettered, string? LastError);

public sealed record UpstreamReport(string Cluster, bool Reachable, IReadOnlyList<string> Destinations);
