using Yarp.ReverseProxy.Configuration;

// YARP alone on Kestrel: one catch-all route to the upstream, as `tao bench gateway`'s "YARP alone" row builds it.
// Usage: YarpAlone PORT UPSTREAM-URL
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseUrls([$"http://127.0.0.1:{args[0]}"]);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "upstream", Match = new RouteMatch { Path = "{**path}" } }],
    [new ClusterConfig
    {
        ClusterId = "upstream",
        Destinations = new Dictionary<string, DestinationConfig> { ["upstream"] = new() { Address = args[1] } },
    }]);
var app = builder.Build();
app.MapReverseProxy();
await app.RunAsync();
