using Microsoft.Extensions.Options;
using Tao.Storage;
using Tao.Trainer.Registry;
using Tao.Hosting;

namespace Tao.Flywheel;

/// <summary>The flywheel as a service: the round loop, Kafka ingest when configured, and a status API.</summary>
public static class FlywheelApp
{
    public static WebApplication Build(IConfiguration configuration, ClickHouseStore store, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = QuietWebHost.CreateSlimBuilder();
        builder.Configuration.AddConfiguration(configuration);
        var options = configuration.GetSection(FlywheelOptions.Section).Get<FlywheelOptions>() ?? new FlywheelOptions();
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Services.AddOptions<FlywheelOptions>().Bind(configuration.GetSection(FlywheelOptions.Section));
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<FlywheelOptions>>().Value);
        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<FlywheelStore>();
        builder.Services.AddSingleton<CaptureReader>();
        builder.Services.AddSingleton(sp => new ModelRegistry(sp.GetRequiredService<FlywheelOptions>().RegistryPath));
        builder.Services.AddHttpClient();
        builder.Services.AddSingleton(sp => new GatewayAdminClient(
            new HttpClient { BaseAddress = new Uri(options.GatewayUrl), Timeout = TimeSpan.FromSeconds(30) }, options.GatewayAdminKey));
        builder.Services.AddSingleton(sp => new Promoter(sp.GetRequiredService<ModelRegistry>(), sp.GetRequiredService<GatewayAdminClient>(),
            url => new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) }, sp.GetRequiredService<ILogger<Promoter>>(),
            sp.GetRequiredService<CaptureReader>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<RoundRunner>();
        if (options.Leader.Kind.Equals("kafka", StringComparison.OrdinalIgnoreCase))
        {
            builder.Services.AddSingleton<KafkaLeadership>();
            builder.Services.AddSingleton<ILeadership>(sp => sp.GetRequiredService<KafkaLeadership>());
            builder.Services.AddHostedService(sp => sp.GetRequiredService<KafkaLeadership>());
        }
        else
        {
            builder.Services.AddSingleton<ILeadership, SoleLeadership>();
        }

        builder.Services.AddSingleton<FlywheelService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FlywheelService>());
        if (options.KafkaIngest.Enabled)
        {
            builder.Services.AddHostedService<KafkaIngestService>();
        }

        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapFlywheelStatus();
        return app;
    }
}
