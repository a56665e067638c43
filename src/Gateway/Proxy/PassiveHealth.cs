using System.Collections.Frozen;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;

namespace Tao.Gateway.Proxy;

/// <summary>
/// YARP's passive health checks for the cluster a call was actually sent to. The gateway routes by model: every call
/// matches one route and is reassigned to its model's cluster (ReassignProxyRequest). YARP 2.3's own
/// PassiveHealthCheckMiddleware reads the cluster's settings from the reassigned cluster but reports the result against
/// the route's cluster, whose destination list is then the one recomputed — the failing destination stayed in its real
/// cluster's list. This step reports against the cluster the call went to, with the same policies.
/// </summary>
internal sealed class ReassignedPassiveHealthChecks(RequestDelegate next, IEnumerable<IPassiveHealthCheckPolicy> policies, IProxyStateLookup proxyState)
{
    private readonly FrozenDictionary<string, IPassiveHealthCheckPolicy> _policies = policies.ToFrozenDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);

        var feature = context.GetReverseProxyFeature();
        var passive = feature.Cluster.Config.HealthCheck?.Passive;
        if (passive?.Enabled != true || feature.ProxiedDestination is not { } destination
            || !proxyState.TryGetCluster(feature.Cluster.Config.ClusterId, out var cluster)
            || !_policies.TryGetValue(passive.Policy ?? PassiveHealthDefaults.Policy, out var policy))
        {
            return;
        }

        policy.RequestProxied(context, cluster, destination);
    }
}

/// <summary>
/// Turns YARP's passive health checks on for every cluster that does not configure them itself, with the transport
/// failure rate policy: a destination whose calls fail to connect, time out or break off (30 % of at least 10 calls in
/// 60 s, YARP's defaults) is ejected until its reactivation period passes. A cluster that names no available-destinations
/// policy gets HealthyAndUnknown instead of YARP's default HealthyOrPanic, so a cluster whose every destination is
/// ejected is skipped for the call's fallbacks instead of being tried anyway; the proxy step still tries it when
/// nothing else could answer the call — the panic choice, made per call rather than per cluster.
/// </summary>
internal sealed class PassiveHealthDefaults : IProxyConfigFilter
{
    public const string Policy = "TransportFailureRate";

    public ValueTask<ClusterConfig> ConfigureClusterAsync(ClusterConfig cluster, CancellationToken cancel)
    {
        var health = cluster.HealthCheck ?? new HealthCheckConfig();
        health = health with
        {
            Passive = health.Passive ?? new PassiveHealthCheckConfig { Enabled = true, Policy = Policy },
            AvailableDestinationsPolicy = health.AvailableDestinationsPolicy ?? "HealthyAndUnknown",
        };
        return ValueTask.FromResult(cluster with { HealthCheck = health });
    }

    public ValueTask<RouteConfig> ConfigureRouteAsync(RouteConfig route, ClusterConfig? cluster, CancellationToken cancel) => ValueTask.FromResult(route);
}
