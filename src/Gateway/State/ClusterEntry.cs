namespace Tao.Gateway.State;

/// <summary>A cluster added at runtime (e.g. a new upstream a tuned model is served from): destination name to address.</summary>
internal sealed class ClusterEntry
{
    public Dictionary<string, string> Destinations { get; set; } = new(StringComparer.Ordinal);
}
