using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tao.Capture.Sinks;
using Tao.Capture.Spool;
using Tao.Storage;

namespace Tao.Capture;

public static class CaptureServiceCollectionExtensions
{
    /// <summary>
    /// The spool, the capture writer, and a shipper per enabled sink (ClickHouse through <see cref="ClickHouseStore"/>,
    /// which must be registered, and Kafka). Sinks are read from configuration once, at start.
    /// </summary>
    public static IServiceCollection AddTaoCapture(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SpoolOptions>().Bind(configuration.GetSection(SpoolOptions.Section));
        services.AddOptions<KafkaSinkOptions>().Bind(configuration.GetSection(KafkaSinkOptions.Section));
        services.AddOptions<ClickHouseSinkOptions>().Bind(configuration.GetSection(ClickHouseSinkOptions.Section));
        services.AddMetrics();
        services.AddSingleton<CaptureMetrics>();
        services.AddSingleton(sp => new CaptureSpool(sp.GetRequiredService<IOptions<SpoolOptions>>().Value));
        services.AddSingleton<CaptureWriter>();
        services.AddSingleton(TimeProvider.System);

        var clickHouse = configuration.GetSection(ClickHouseSinkOptions.Section).Get<ClickHouseSinkOptions>() ?? new ClickHouseSinkOptions();
        if (clickHouse.Enabled)
        {
            services.AddSingleton<ICaptureSink>(sp => new ClickHouseSink(
                sp.GetRequiredService<ClickHouseStore>(), sp.GetRequiredService<IOptions<ClickHouseSinkOptions>>().Value));
        }

        var kafka = configuration.GetSection(KafkaSinkOptions.Section).Get<KafkaSinkOptions>() ?? new KafkaSinkOptions();
        if (kafka.Enabled)
        {
            services.AddSingleton<ICaptureSink>(sp => new KafkaSink(sp.GetRequiredService<IOptions<KafkaSinkOptions>>().Value));
        }

        services.AddSingleton(sp => sp.GetServices<ICaptureSink>()
            .Select(sink => new SinkShipper(sp.GetRequiredService<CaptureSpool>(), sink,
                sp.GetRequiredService<ILogger<SinkShipper>>(), sp.GetRequiredService<TimeProvider>()))
            .ToList() as IReadOnlyList<SinkShipper>);
        services.AddHostedService<ShippersHost>();
        return services;
    }
}
