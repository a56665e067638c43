using System.CommandLine;
using Tao.Gateway.Hosting;
using Tao.Hosting;
using Yarp.ReverseProxy.Configuration;

namespace Tao.Cli.Benchmarks;

/// <summary>
/// The benchmark's second floor: YARP alone on Kestrel, one catch-all route to the upstream, none of Tao's pipeline
/// (no auth, request inspection, routing by model, transforms, telemetry or capture), built the way the gateway builds
/// its host. The gap between nginx and this row is the runtime's (Kestrel, SocketsHttpHandler, YARP's forwarder);
/// the gap between this row and "tao, capture off" is Tao's own request path.
/// </summary>
internal static class YarpBaseline
{
    public const string CommandName = "yarp-baseline";

    public static async Task<WebApplication> StartAsync(int port, Uri upstream)
    {
        var builder = QuietWebHost.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls([$"http://127.0.0.1:{port}"]);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddReverseProxy().LoadFromMemory(
            [new RouteConfig { RouteId = "all", ClusterId = "upstream", Match = new RouteMatch { Path = "{**path}" } }],
            [new ClusterConfig
            {
                ClusterId = "upstream",
                Destinations = new Dictionary<string, DestinationConfig> { ["upstream"] = new() { Address = upstream.ToString() } },
            }]);
        var app = builder.Build();
        app.MapReverseProxy();
        await app.StartAsync();
        return app;
    }

    /// <summary>Hidden: only `tao bench gateway` starts it, as a process of its own like every other server it measures.</summary>
    public static Command CreateCommand()
    {
        var port = new Option<int>("--port") { Required = true };
        var upstream = new Option<string>("--upstream") { Required = true };
        var command = new Command(CommandName, "YARP alone in front of --upstream (a benchmark baseline).") { port, upstream };
        command.Hidden = true;
        command.SetAction(async (result, cancellationToken) =>
        {
            await using var app = await StartAsync(result.GetValue(port), new Uri(result.GetValue(upstream)!, UriKind.Absolute));
            await GatewayHost.WaitForShutdownAsync(cancellationToken);
            await app.StopAsync(CancellationToken.None);
            return 0;
        });
        return command;
    }
}
