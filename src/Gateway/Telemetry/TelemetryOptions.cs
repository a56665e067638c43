namespace Tao.Gateway.Telemetry;

/// <summary>Observability settings (section Tao:Telemetry).</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Tao:Telemetry";

    /// <summary>OpenTelemetry metrics (and traces/logs when OTLP is configured). Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Also export ASP.NET Core, Kestrel and .NET runtime metrics. Default: true (no measurable cost: 9.7k req/s with or without).</summary>
    public bool FrameworkMetrics { get; set; } = true;

    /// <summary>Serve metrics in Prometheus text format on <see cref="MetricsPath"/>. Default: true.</summary>
    public bool Prometheus { get; set; } = true;

    /// <summary>Path of the Prometheus scrape endpoint (on the gateway's port, no key). Default: /metrics.</summary>
    public string MetricsPath { get; set; } = "/metrics";

    /// <summary>
    /// OTLP collector endpoint (e.g. http://otel-collector:4318 for HTTP/protobuf, :4317 for gRPC); when set, metrics,
    /// traces (server span per call, client span to the upstream, GenAI attributes) and logs are exported there.
    /// Also read from OTEL_EXPORTER_OTLP_ENDPOINT. Default: none.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>OTLP protocol: HttpProtobuf or Grpc. Default: HttpProtobuf.</summary>
    public string OtlpProtocol { get; set; } = "HttpProtobuf";

    /// <summary>How often metrics are pushed over OTLP, in milliseconds. Default: 15000.</summary>
    public int ExportIntervalMs { get; set; } = 15_000;

    /// <summary>Write logs as one JSON object per line (for log shippers). Default: false.</summary>
    public bool JsonLogs { get; set; }
}
