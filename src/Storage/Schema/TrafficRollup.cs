namespace Tao.Storage.Schema;

/// <summary>
/// Per-minute pre-aggregates of the captures table, filled by a materialized view at insert time, so traffic
/// dashboards over weeks read thousands of rows instead of hundreds of millions. Dimensions are the low-cardinality
/// ones analytics groups by (task, model, alias, version, API key, endpoint); per-end-user questions read the raw
/// table. Latency and time-to-first-token keep t-digest states, so percentiles merge across any window and grouping.
/// </summary>
/// <remarks>
/// The view sees inserts, not merges: a record replayed after an outage (same request id) counts twice here until
/// the raw table's ReplacingMergeTree collapses it there. Replays are rare and bounded by the spool's unacknowledged
/// tail; exact counts come from the raw table (analytics source=raw).
/// </remarks>
public static class TrafficRollup
{
    public const string Name = "traffic_minutely";
    public const string View = "traffic_minutely_mv";
    public const string Quantiles = "0.5, 0.95, 0.99";

    public static IReadOnlyList<string> Dimensions { get; } = ["task", "model", "alias", "model_version", "api_key_id", "endpoint"];

    public static IReadOnlyList<Column> Columns { get; } =
    [
        new("minute", "DateTime('UTC')"),
        .. Dimensions.Select(d => new Column(d, "LowCardinality(String)")),
        new("requests", "SimpleAggregateFunction(sum, UInt64)"),
        new("errors", "SimpleAggregateFunction(sum, UInt64)"),
        new("prompt_tokens", "SimpleAggregateFunction(sum, UInt64)"),
        new("completion_tokens", "SimpleAggregateFunction(sum, UInt64)"),
        new("latency", $"AggregateFunction(quantilesTDigest({Quantiles}), Float64)"),
        new("ttft", $"AggregateFunction(quantilesTDigest({Quantiles}), Nullable(Float64))"),
        new("tpot", $"AggregateFunction(quantilesTDigest({Quantiles}), Nullable(Float64))"),
    ];

    /// <summary>The view's SELECT over a captures table (plain or _local).</summary>
    public static string Select(string source) =>
        $"SELECT toStartOfMinute(started_at) AS minute, {string.Join(", ", Dimensions)},\n" +
        "    count() AS requests, countIf(status >= 400) AS errors,\n" +
        "    sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,\n" +
        $"    quantilesTDigestState({Quantiles})(latency_ms) AS latency,\n" +
        $"    quantilesTDigestState({Quantiles})(ttft_ms) AS ttft,\n" +
        $"    quantilesTDigestState({Quantiles})({TimePerOutputToken("c.")}) AS tpot\n" +
        $"FROM {source} AS c\nGROUP BY minute, {string.Join(", ", Dimensions)}";

    /// <summary>Time per generated token after the first (the GenAI conventions' time_per_output_token), in ms; streamed calls only (a non-streamed answer's first byte is its last).</summary>
    public static string TimePerOutputToken(string table = "") =>
        $"if({table}stream AND {table}completion_tokens > 1 AND {table}ttft_ms IS NOT NULL, ({table}latency_ms - {table}ttft_ms) / ({table}completion_tokens - 1), NULL)";

    /// <summary>
    /// Rolls up what the captures table held before the view existed: rows ingested before the view's creation second.
    /// Single node only (a cluster gets the view with its first tables). Rerunning it after a crash between this
    /// statement and the migration's record would count that history twice; the window is one statement long.
    /// </summary>
    public static IReadOnlyList<string> Backfill(SchemaDdl ddl)
    {
        if (ddl.Options.Cluster is { Length: > 0 })
        {
            return [];
        }

        var created = $"(SELECT metadata_modification_time FROM system.tables WHERE database = '{ddl.Options.Database}' AND name = '{View}')";
        var select = Select(ddl.Qualified(CapturesTable.Name)).Replace("\nGROUP BY", $"\nWHERE ingested_at < {created}\nGROUP BY", StringComparison.Ordinal);
        return [$"INSERT INTO {ddl.Qualified(Name)}\n{select}"];
    }
}
