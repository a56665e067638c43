
namespace Tao.Gateway.State;

/// <summary>
/// What the admin API changed at runtime: it overlays the configuration (an entry here replaces the configured one
/// of the same name) and survives restarts in the state folder.
/// </summary>
internal sealed class GatewayState
{
    /// <summary>Orders states across replicas: every change takes a version above both the last one and the clock (µs since 1970).</summary>
    public long Version { get; set; }

    public Dictionary<string, AliasEntry> Aliases { get; set; } = new(StringComparer.Ordinal);
    public Dictionary<string, ModelEntry> Models { get; set; } = new(StringComparer.Ordinal);
    public Dictionary<string, ClusterEntry> Clusters { get; set; } = new(StringComparer.Ordinal);
    public List<ApiKey> Keys { get; set; } = [];

    /// <summary>Dashboard sessions signed out before their expiry: id → expiry (dropped once expired).</summary>
    public Dictionary<string, DateTimeOffset> RevokedSessions { get; set; } = new(StringComparer.Ordinal);
}
