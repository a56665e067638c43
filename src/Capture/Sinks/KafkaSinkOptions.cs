namespace Tao.Capture.Sinks;

/// <summary>The Kafka sink: capture records as JSON messages keyed by request id.</summary>
public sealed class KafkaSinkOptions
{
    public const string Section = "Tao:Capture:Kafka";

    /// <summary>Ship captures to Kafka. Default: false.</summary>
    public bool Enabled { get; set; }

    /// <summary>Comma-separated bootstrap brokers (host:port). Required when enabled.</summary>
    public string BootstrapServers { get; set; } = string.Empty;

    /// <summary>Topic for capture records. Default: "tao.captures".</summary>
    public string Topic { get; set; } = "tao.captures";

    /// <summary>Topic for feedback records (same key, same delivery guarantees). Default: "tao.feedback".</summary>
    public string FeedbackTopic { get; set; } = "tao.feedback";

    /// <summary>Records per batch handed to the producer before waiting for delivery reports. Default: 5000.</summary>
    public int MaxBatchRecords { get; set; } = 5000;

    /// <summary>Extra librdkafka producer properties (security.protocol, sasl.*, compression.type, ...).</summary>
    public Dictionary<string, string> Producer { get; set; } = new(StringComparer.Ordinal);
}
