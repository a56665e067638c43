using Microsoft.AspNetCore.Server.Kestrel.Core;
using Tao.Gateway.Settings;
using Tao.Hosting;
using Tao.Storage;

namespace Tao.Gateway;

/// <summary>Builds the gateway as a web application over an opened store.</summary>
public static class GatewayApp
{
    public static WebApplication Build(IConfiguration configuration, ClickHouseStore store, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = QuietWebHost.CreateSlimBuilder();
        builder.Configuration.AddConfiguration(configuration);
        var options = configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The gateway enforces its own, smaller limit with an OpenAI-style error; this is the backstop.
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes + 1;
            kestrel.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(5));
        });
        // Per-request log scopes and activities cost more than the proxying itself; nothing here reads them.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Services.AddSingleton(store);
        builder.Services.AddTaoGateway(builder.Configuration);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.UseTaoGateway();
        return app;
    }
}
