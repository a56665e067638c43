using Tao.Gateway.State;
using Yarp.ReverseProxy.Configuration;

namespace Tao.Gateway.Routing;

/// <summary>
/// YARP routes and clusters that do not come from the ReverseProxy section: clusters added through the admin API
/// (a new upstream a tuned model is served from), and the default /v1 route when configuration declares none.
/// Published through YARP's in-memory provider, which swaps its snapshot atomically.
/// </summary>
internal sealed class RuntimeClusters(InMemoryConfigProvider provider, GatewayStateStore state, IConfiguration configuration)
{
    public const string DefaultRouteId = "tao-v1";
    public const string PlaceholderCluster = "tao-unrouted";

    /// <summary>Publishes what the state file holds, and again whenever another replica's newer state is adopted; called once at start.</summary>
    public void Load()
    {
        state.Replaced += Publish;
        Publish(state.Current);
    }

    public IReadOnlyDictionary<string, ClusterEntry> All => state.Current.Clusters;

    /// <summary>True when <paramref name="id"/> is defined in configuration (and so cannot be changed here).</summary>
    public bool IsConfigured(string id) => configuration.GetSection($"ReverseProxy:Clusters:{id}").Exists();

    public void Upsert(string id, ClusterEntry entry) => Publish(state.Update(s => s.Clusters[id] = entry));

    public bool Remove(string id)
    {
        if (!state.Current.Clusters.ContainsKey(id))
        {
            return false;
        }

        Publish(state.Update(s => s.Clusters.Remove(id)));
        return true;
    }

    private void Publish(GatewayState current)
    {
        var clusters = current.Clusters.Select(c => new ClusterConfig
        {
            ClusterId = c.Key,
            Destinations = c.Value.Destinations.ToDictionary(d => d.Key, d => new DestinationConfig { Address = d.Value }, StringComparer.Ordinal),
        }).ToList();

        var routes = new List<RouteConfig>();
        if (!configuration.GetSection("ReverseProxy:Routes").GetChildren().Any())
        {
            // The model map picks the real cluster per request; the route only has to match /v1.
            clusters.Add(new ClusterConfig { ClusterId = PlaceholderCluster, Destinations = new Dictionary<string, DestinationConfig>() });
            routes.Add(new RouteConfig { RouteId = DefaultRouteId, ClusterId = PlaceholderCluster, Match = new RouteMatch { Path = "/v1/{**rest}" } });
        }

        provider.Update(routes, clusters);
    }
}
