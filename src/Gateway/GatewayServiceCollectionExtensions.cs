using Tao.Capture;
using Tao.Gateway.Admin;
using Tao.Gateway.Auth;
using Tao.Gateway.Capture;
using Tao.Gateway.Health;
using Tao.Gateway.OpenAi;
using Tao.Gateway.Proxy;
using Tao.Gateway.Routing;
using Tao.Gateway.Settings;
using Tao.Gateway.State;
using Yarp.ReverseProxy.Forwarder;

namespace Tao.Gateway;

public static class GatewayServiceCollectionExtensions
{
    /// <summary>Everything the gateway runs on; a <see cref="Storage.ClickHouseStore"/> must be registered beside it.</summary>
    public static IServiceCollection AddTaoGateway(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GatewayOptions>().Bind(configuration.GetSection(GatewayOptions.Section));
        services.AddOptions<AuthOptions>().Bind(configuration.GetSection(AuthOptions.Section));
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddOptions<RoutingOptions>().Bind(configuration.GetSection(RoutingOptions.Section)).ValidateOnStart();
        services.AddOptions<CaptureOptions>().Bind(configuration.GetSection(CaptureOptions.Section));
        services.AddOptions<ReadinessOptions>().Bind(configuration.GetSection(ReadinessOptions.Section));

        services.AddSingleton<Security.GatewaySecrets>();
        services.AddOptions<Feedback.FeedbackOptions>().Bind(configuration.GetSection(Feedback.FeedbackOptions.Section));
        services.AddSingleton<Capture.RecentCalls>();
        services.AddSingleton<Feedback.FeedbackService>();
        services.AddSingleton<Limits.KeyLimiter>();
        services.AddSingleton<Limits.KeyUsageSync>();
        services.AddHostedService(sp => sp.GetRequiredService<Limits.KeyUsageSync>());
        services.AddSingleton<GatewayStateStore>();
        services.AddSingleton<GatewayStateSync>();
        services.AddOptions<Analytics.AnalyticsOptions>().Bind(configuration.GetSection(Analytics.AnalyticsOptions.Section));
        services.AddSingleton<Analytics.AnalyticsService>();
        services.AddSingleton<Auth.DashboardSession>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayStateSync>());
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<RuntimeClusters>();
        services.AddSingleton<Redactor>();
        services.AddSingleton<TokenEstimator>();
        services.AddSingleton<CaptureRecorder>();
        services.AddSingleton<ReadinessMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<ReadinessMonitor>());
        services.AddTaoCapture(configuration);
        services.AddSingleton<Telemetry.GatewayMetrics>();
        Telemetry.TelemetrySetup.AddTaoTelemetry(services, configuration);

        services.AddSingleton<IForwarderHttpClientFactory, GatewayForwarderHttpClientFactory>();
        services.AddSingleton<RetryBudget>();
        services.AddReverseProxy()
            .LoadFromConfig(configuration.GetSection("ReverseProxy"))
            .LoadFromMemory([], [])
            .AddConfigFilter<PassiveHealthDefaults>()
            .AddTransforms<ProxyTransforms>();

        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(o => GatewayJson.Configure(o.SerializerOptions));
        return services;
    }

    /// <summary>The gateway's request pipeline: errors, auth, health, admin, /v1/models, and the proxy.</summary>
    public static WebApplication UseTaoGateway(this WebApplication app)
    {
        app.Services.GetRequiredService<RuntimeClusters>().Load();
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<GatewayOptions>>().Value.TrustedProxies is { Count: > 0 } proxies)
        {
            var forwarded = new ForwardedHeadersOptions
            {
                ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto,
            };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in proxies)
            {
                forwarded.KnownProxies.Add(System.Net.IPAddress.Parse(proxy));
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.UseMiddleware<GatewayErrorMiddleware>();
        app.UseMiddleware<AuthMiddleware>();
        app.MapHealth();
        app.MapAdmin();
        Admin.ExportEndpoints.MapExport(app);
        Analytics.AnalyticsEndpoints.MapAnalytics(app);
        Dashboard.DashboardEndpoints.MapDashboard(app);
        Telemetry.TelemetrySetup.MapTelemetry(app);
        app.MapModels();
        Feedback.FeedbackEndpoints.MapFeedback(app);
        app.MapReverseProxy(pipeline =>
        {
            // ProxyStep runs the rest of this pipeline once per upstream attempt (retries, fallbacks), so every attempt
            // is load balanced among the cluster's healthy destinations and reported to its passive health check.
            pipeline.UseMiddleware<ProxyStep>();
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UseMiddleware<ReassignedPassiveHealthChecks>();
        });
        return app;
    }
}
