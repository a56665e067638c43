namespace Tao.Gateway.Health;

internal sealed record UpstreamReport(string Cluster, bool Reachable, IReadOnlyList<string> Destinations);
