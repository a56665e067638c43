using System.Diagnostics;
using System.Diagnostics.Metrics;
using Tao.Capture;
using Tao.Capture.Sinks;
using Tao.Capture.Spool;

namespace Tao.Gateway.Telemetry;

/// <summary>
/// Meter "Tao.Gateway": the OpenTelemetry GenAI client and server metrics for every proxied call (token usage,
/// operation duration, time to first token, time per output token), recorded from the same parse that fills the
/// capture record, plus the capture pipeline's state (spool size and fullness, per-sink lag, delivered and
/// dead-lettered records; appended and dropped records are on meter "Tao.Capture").
/// </summary>
/// <remarks>
/// Attributes follow the GenAI conventions (gen_ai.operation.name, gen_ai.provider.name — the upstream cluster —,
/// gen_ai.request.model, gen_ai.response.model, gen_ai.token.type, error.type) plus tao.alias, tao.model_version and
/// tao.task, all bounded sets. Users and API keys are left to analytics: they would explode metric cardinality.
/// </remarks>
internal sealed class GatewayMetrics
{
    public const string MeterName = "Tao.Gateway";

    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _timeToFirstToken;
    private readonly Histogram<double> _timePerOutputToken;

    public GatewayMetrics(IMeterFactory meterFactory, CaptureSpool spool, IReadOnlyList<SinkShipper> shippers)
    {
        var meter = meterFactory.Create(MeterName);
        _tokens = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used per call, by input and output",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304] });
        _duration = meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of a call through the gateway",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });
        _timeToFirstToken = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time to the first content token, as the client sees it",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] });
        _timePerOutputToken = meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Time per output token after the first",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5] });

        meter.CreateObservableGauge("tao.spool.size", () => spool.BytesOnDisk, "By", "Bytes of capture records on disk not yet shipped to every sink");
        meter.CreateObservableGauge("tao.spool.full", () => spool.IsFull ? 1 : 0, "{boolean}", "1 while the spool's disk budget is exhausted (records are being dropped)");
        meter.CreateObservableCounter("tao.spool.dropped_too_large", () => spool.DroppedTooLarge, "{record}", "Records dropped because one record is larger than a spool segment");
        meter.CreateObservableGauge("tao.sink.lag", () => shippers.Select(s => new Measurement<long>(s.Lag, new KeyValuePair<string, object?>("tao.sink", s.Sink.Name))),
            "By", "Spool bytes a sink has not yet acknowledged");
        meter.CreateObservableCounter("tao.sink.delivered", () => shippers.Select(s => new Measurement<long>(s.Status.Delivered, new KeyValuePair<string, object?>("tao.sink", s.Sink.Name))),
            "{record}", "Records a sink acknowledged");
        meter.CreateObservableCounter("tao.sink.dead_lettered", () => shippers.Select(s => new Measurement<long>(s.Status.DeadLettered, new KeyValuePair<string, object?>("tao.sink", s.Sink.Name))),
            "{record}", "Records a sink refused permanently (kept in the dead-letter file)");
    }

    /// <summary>Records one finished call from its capture record.</summary>
    public void Record(CaptureRecord record)
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", Operation(record.Endpoint) },
            { "gen_ai.provider.name", record.Cluster },
            { "gen_ai.request.model", record.RequestedModel },
            { "gen_ai.response.model", record.ServedModel },
            { "tao.alias", record.Alias },
            { "tao.model_version", record.ModelVersion },
            { "tao.task", record.Task },
        };
        if (record.Status >= 400 || record.UpstreamTruncated)
        {
            tags.Add("error.type", record.ErrorType.Length > 0 ? record.ErrorType : "upstream_truncated");
        }

        _duration.Record(record.LatencyMs / 1000, tags);
        if (record.Status < 400)
        {
            var input = tags;
            input.Add("gen_ai.token.type", "input");
            _tokens.Record(record.PromptTokens, input);
            if (record.Endpoint != "embeddings")
            {
                var output = tags;
                output.Add("gen_ai.token.type", "output");
                _tokens.Record(record.CompletionTokens, output);
            }
        }

        if (record.Stream && record.TtftMs is { } ttft)
        {
            _timeToFirstToken.Record(ttft / 1000, tags);
            if (record.CompletionTokens > 1)
            {
                _timePerOutputToken.Record((record.LatencyMs - ttft) / 1000 / (record.CompletionTokens - 1), tags);
            }
        }
    }

    private static string Operation(string endpoint) => endpoint switch
    {
        ApiSurfaces.Completions => "text_completion",
        ApiSurfaces.Embeddings => "embeddings",
        _ => "chat", // chat, responses, messages
    };
}
