namespace Tao.Storage.Schema;

/// <summary>
/// The captures table: one row per proxied call, the same record the Kafka sink publishes.
/// </summary>
/// <remarks>
/// ReplacingMergeTree on (task, started_at, request_id): a record replayed after a crash or an outage has the
/// same key and collapses into one row (read with FINAL, or count uniqExact(request_id)). The key serves the
/// flywheel's question "inputs of task T after time X" directly, and partitions by month keep time-range
/// scans of the analytics cheap. Bodies carry a TTL so metadata outlives them.
/// </remarks>
public static class CapturesTable
{
    public const string Name = "captures";

    public static IReadOnlyList<Column> Columns(int bodyRetentionDays)
    {
        var ttl = bodyRetentionDays > 0 ? $"TTL toDateTime(started_at) + INTERVAL {bodyRetentionDays} DAY" : string.Empty;
        return
        [
            new("request_id", "UUID"),
            new("schema_version", "UInt8"),
            new("started_at", "DateTime64(6, 'UTC')"),
            new("completed_at", "DateTime64(6, 'UTC')"),
            new("latency_ms", "Float64"),
            new("ttft_ms", "Nullable(Float64)"),
            new("endpoint", "LowCardinality(String)"),
            new("status", "UInt16"),
            new("error_type", "LowCardinality(String)"),
            new("error_message", "String"),
            new("requested_model", "LowCardinality(String)"),
            new("alias", "LowCardinality(String)"),
            new("model", "LowCardinality(String)"),
            new("served_model", "LowCardinality(String)"),
            new("model_version", "LowCardinality(String)"),
            new("cluster", "LowCardinality(String)"),
            new("upstream", "LowCardinality(String)"),
            new("api_key_id", "LowCardinality(String)"),
            new("task", "LowCardinality(String)"),
            EpisodeId,
            new("end_user", "String"),
            new("gateway", "LowCardinality(String)"),
            new("stream", "Bool"),
            new("request_json", "String", $"CODEC(ZSTD(3)) {ttl}".Trim()),
            new("prompt", "String", $"CODEC(ZSTD(3)) {ttl}".Trim()),
            new("prompt_hash", "UInt64"),
            new("response_text", "String", $"CODEC(ZSTD(3)) {ttl}".Trim()),
            new("finish_reason", "LowCardinality(String)"),
            new("prompt_tokens", "UInt32"),
            new("completion_tokens", "UInt32"),
            new("tokens_estimated", "Bool"),
            new("client_aborted", "Bool"),
            new("upstream_truncated", "Bool"),
            new("capture_truncated", "Bool"),
            new("ingested_at", "DateTime64(3, 'UTC')", "DEFAULT now64(3)"),
        ];
    }

    /// <summary>
    /// Groups the calls of one conversation or agent run (x-tao-episode-id). Part of the table created by migration 1 on
    /// new stores; migration 6 adds it (if missing) to stores created before.
    /// </summary>
    public static Column EpisodeId { get; } = new("episode_id", "String");

    /// <summary>
    /// Columns added by migration 7 for version 2 of the capture record: every upstream attempt (retries, fallbacks) and
    /// the answer's tool calls, each a JSON array (<c>JSONExtract</c> and friends read them). Rows written before read
    /// <c>[]</c>. Tool calls carry arguments, which are body data: they share the bodies' TTL.
    /// </summary>
    public static IReadOnlyList<Column> AddedColumns(int bodyRetentionDays)
    {
        var ttl = bodyRetentionDays > 0 ? $" TTL toDateTime(started_at) + INTERVAL {bodyRetentionDays} DAY" : string.Empty;
        return
        [
            new("attempts", "String", "DEFAULT '[]' CODEC(ZSTD(3))"),
            new("tool_calls", "String", $"DEFAULT '[]' CODEC(ZSTD(3)){ttl}"),
        ];
    }

    /// <summary>
    /// Columns added by migration 8 for version 3 of the capture record, what trainers need beside the answer: every
    /// choice, the reasoning, a refusal, the requested response format, the sampled tokens' log-probabilities. Body data
    /// (except the format): they share the bodies' TTL. Rows written before read empty.
    /// </summary>
    public static IReadOnlyList<Column> TrainingColumns(int bodyRetentionDays)
    {
        var ttl = bodyRetentionDays > 0 ? $" TTL toDateTime(started_at) + INTERVAL {bodyRetentionDays} DAY" : string.Empty;
        return
        [
            new("choices", "String", $"DEFAULT '[]' CODEC(ZSTD(3)){ttl}"),
            new("reasoning", "String", $"DEFAULT '' CODEC(ZSTD(3)){ttl}"),
            new("refusal", "String", $"DEFAULT ''{ttl}"),
            new("response_format", "LowCardinality(String)", "DEFAULT ''"),
            new("logprobs", "String", $"DEFAULT '[]' CODEC(ZSTD(3)){ttl}"),
        ];
    }

    /// <summary>
    /// Columns added by migration 9 for version 4 of the capture record: the sampled and the prompt's token ids when the
    /// upstream returns them. Body data: they share the bodies' TTL. Rows written before read empty.
    /// </summary>
    public static IReadOnlyList<Column> TokenColumns(int bodyRetentionDays)
    {
        var ttl = bodyRetentionDays > 0 ? $" TTL toDateTime(started_at) + INTERVAL {bodyRetentionDays} DAY" : string.Empty;
        return
        [
            new("token_ids", "Array(UInt32)", $"CODEC(ZSTD(3)){ttl}"),
            new("prompt_token_ids", "Array(UInt32)", $"CODEC(ZSTD(3)){ttl}"),
        ];
    }

    /// <summary>The columns a capture record fills (all but those the server defaults), in the order of ClickHouseSink.ToRow.</summary>
    public static IReadOnlyList<string> InsertColumns { get; } =
    [
        .. Columns(0).Where(c => !c.Clause.StartsWith("DEFAULT", StringComparison.Ordinal)).Select(c => c.Name),
        .. AddedColumns(0).Select(c => c.Name),
        .. TrainingColumns(0).Select(c => c.Name),
        .. TokenColumns(0).Select(c => c.Name),
    ];
}
