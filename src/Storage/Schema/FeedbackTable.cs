namespace Tao.Storage.Schema;

/// <summary>
/// Users' signals on calls: one row per (target, metric, key), the latest write winning (ReplacingMergeTree on
/// created_at), so re-posting the same feedback or a sink re-sending a batch never counts twice. A target is a
/// request id or an episode id (level says which). Booleans are stored as 0/1 in value; comments and demonstrations
/// (an edited ideal answer) in their own columns.
/// </summary>
public static class FeedbackTable
{
    public const string Name = "feedback";

    public static IReadOnlyList<Column> Columns { get; } =
    [
        new("feedback_id", "UUID"),
        new("target_id", "String"),
        new("level", "LowCardinality(String)"),
        new("metric", "LowCardinality(String)"),
        new("kind", "LowCardinality(String)"),
        new("value", "Nullable(Float64)"),
        new("comment", "String", "CODEC(ZSTD(3))"),
        new("demonstration", "String", "CODEC(ZSTD(3))"),
        new("tags", "Map(String, String)"),
        new("api_key_id", "LowCardinality(String)"),
        new("created_at", "DateTime64(3, 'UTC')"),
        new("gateway", "LowCardinality(String)"),
    ];
}
