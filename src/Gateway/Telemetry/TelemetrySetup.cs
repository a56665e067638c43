using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Tao.Capture;
using Tao.Gateway.Settings;

namespace Tao.Gateway.Telemetry;

/// <summary>
/// OpenTelemetry for the gateway: metrics always (Prometheus scrape endpoint unless turned off), and when an OTLP
/// endpoint is configured, metrics, traces and logs pushed to it. Traces exist only then: with no listener .NET
/// creates no activities, so an untraced gateway pays nothing for them.
/// </summary>
internal static class TelemetrySetup
{
    public const string ActivitySourceName = "Tao.Gateway";

    public static IServiceCollection AddTaoTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.Section));
        var options = configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var otlp = options.OtlpEndpoint ?? Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT");
        var protocol = string.Equals(options.OtlpProtocol, "Grpc", StringComparison.OrdinalIgnoreCase) ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        var instance = configuration[$"{GatewayOptions.Section}:InstanceId"] ?? Environment.MachineName;

        void Exporter(OtlpExporterOptions o, string signal)
        {
            var endpoint = otlp!.TrimEnd('/');
            o.Protocol = protocol;
            // HTTP/protobuf posts each signal to its own path under the collector's base address.
            o.Endpoint = new Uri(protocol == OtlpExportProtocol.HttpProtobuf ? $"{endpoint}/v1/{signal}" : endpoint);
        }

        if (options.JsonLogs)
        {
            services.AddLogging(logging => logging.ClearProviders().AddJsonConsole(json => json.IncludeScopes = true));
        }

        if (!options.Enabled)
        {
            return services;
        }

        var builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("tao-gateway", serviceInstanceId: instance))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(GatewayMetrics.MeterName, CaptureMetrics.MeterName);
                if (options.FrameworkMetrics)
                {
                    metrics.AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel").AddRuntimeInstrumentation();
                }
                if (options.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp is { Length: > 0 })
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        Exporter(exporter, "metrics");
                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = options.ExportIntervalMs;
                    });
                }
            });

        if (otlp is { Length: > 0 })
        {
            builder.WithTracing(tracing => tracing
                .AddSource(ActivitySourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !context.Request.Path.StartsWithSegments(options.MetricsPath))
                .AddHttpClientInstrumentation()
                .AddOtlpExporter(o => Exporter(o, "traces")));
            builder.WithLogging(logging => logging.AddOtlpExporter(o => Exporter(o, "logs")));
        }

        return services;
    }

    public static void MapTelemetry(WebApplication app)
    {
        var options = app.Configuration.GetSection(TelemetryOptions.Section).Get<TelemetryOptions>() ?? new TelemetryOptions();
        if (options.Enabled && options.Prometheus)
        {
            app.MapPrometheusScrapingEndpoint(options.MetricsPath);
        }
    }
}
