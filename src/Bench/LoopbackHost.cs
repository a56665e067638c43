using System.Net;
using Tao.Hosting;

namespace Tao.Bench;

/// <summary>
/// How the fake servers start, the fake upstreams here and the tests' own stand-ins alike: a quiet web host on a loopback
/// port (0: any free one), without logging or a Server header, and without Kestrel's minimum response data rate, so a
/// client that reads slowly on purpose is not cut off.
/// </summary>
internal static class LoopbackHost
{
    /// <summary>Builds the host, lets <paramref name="map"/> add its endpoints, starts it, and returns it with its address.</summary>
    public static async Task<(WebApplication App, Uri Address)> StartAsync(Action<WebApplication> map, int port = 0)
    {
        var builder = QuietWebHost.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.AddServerHeader = false;
            k.Limits.MinResponseDataRate = null;
        });
        var app = builder.Build();
        map(app);
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return (app, new Uri(app.Urls.First()));
    }
}
