using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Tao.Capture.Sinks;
using Tao.Capture.Spool;
using Tao.Gateway.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;

namespace Tao.Gateway.Health;

/// <summary>
/// Probes sinks and upstreams in the background so /readyz answers from the last probe without waiting on them:
/// an upstream cluster is reachable when one of its destinations accepts a TCP connection and is not marked
/// unhealthy by YARP's health checks; a sink when its service answers and its last delivery did not fail.
/// </summary>
internal sealed class ReadinessMonitor(
    CaptureSpool spool, IReadOnlyList<SinkShipper> shippers, ModelCatalog catalog, IProxyStateLookup proxyState,
    IOptionsMonitor<ReadinessOptions> options, TimeProvider time) : BackgroundService
{
    private readonly SemaphoreSlim _probeGate = new(1, 1);
    private IReadOnlyList<SinkReport> _sinks = [];
    private IReadOnlyList<UpstreamReport> _upstreams = [];
    private bool _probed;

    public async Task<ReadinessReport> ReportAsync(CancellationToken cancellationToken)
    {
        if (!Volatile.Read(ref _probed))
        {
            await ProbeAsync(cancellationToken);
        }

        var spoolReport = new SpoolReport(spool.IsFull, spool.BytesOnDisk, spool.Dropped, spool.CorruptBytesSkipped);
        var sinks = Volatile.Read(ref _sinks);
        var upstreams = Volatile.Read(ref _upstreams);
        // The gateway's own readiness: it can take calls and record them. Upstream health is reported as detail, not
        // a reason to leave the load balancer: every replica shares the upstreams, so one failing upstream would
        // otherwise take every replica out, including for the models still served.
        var ready = !spoolReport.Full
            && (options.CurrentValue.IgnoreSinks || sinks.All(s => s.Reachable));
        return new ReadinessReport(ready ? "ready" : "not_ready", spoolReport, sinks, upstreams);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ProbeAsync(stoppingToken);
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, options.CurrentValue.ProbeIntervalSeconds)), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task ProbeAsync(CancellationToken cancellationToken)
    {
        await _probeGate.WaitAsync(cancellationToken);
        try
        {
            var sinks = new List<SinkReport>();
            foreach (var shipper in shippers)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(3));
                bool reachable;
                try
                {
                    reachable = await shipper.Sink.CheckAsync(timeout.Token) && shipper.Status.Healthy;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    reachable = false;
                }

                sinks.Add(new SinkReport(shipper.Sink.Name, reachable, shipper.Lag, shipper.Status.Delivered, shipper.Status.DeadLettered,
                    shipper.Status.LastError));
            }

            var clusters = catalog.Current.Models.Values.Select(m => m.Cluster).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            var upstreams = new List<UpstreamReport>();
            foreach (var clusterId in clusters)
            {
                if (!proxyState.TryGetCluster(clusterId, out var cluster))
                {
                    upstreams.Add(new UpstreamReport(clusterId, false, []));
                    continue;
                }

                var addresses = new List<string>();
                var reachable = false;
                foreach (var destination in cluster.Destinations.Values)
                {
                    var address = destination.Model.Config.Address;
                    addresses.Add(address);
                    if (destination.Health.Active != DestinationHealth.Unhealthy && destination.Health.Passive != DestinationHealth.Unhealthy
                        && await AcceptsConnectionAsync(address, cancellationToken))
                    {
                        reachable = true;
                    }
                }

                upstreams.Add(new UpstreamReport(clusterId, reachable, addresses));
            }

            Volatile.Write(ref _sinks, sinks);
            Volatile.Write(ref _upstreams, upstreams);
            Volatile.Write(ref _probed, true);
        }
        finally
        {
            _probeGate.Release();
        }
    }

    private static async Task<bool> AcceptsConnectionAsync(string address, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            return false;
        }

        // One slow connect on a busy host must not flip readiness: a second, longer attempt decides.
        foreach (var seconds in new[] { 1, 3 })
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(uri.Host, uri.Port, timeout.Token);
                return true;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
                {
                    return false; // nothing listens: no point asking again
                }
            }
        }

        return false;
    }
}
