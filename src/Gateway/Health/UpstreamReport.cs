namespace Tao.Gateway.Health;

public sealed record UpstreamReport(string Cluster, bool Reachable, IReadOnlyList<string> Destinations);
