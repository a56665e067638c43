namespace Tao.Storage.Schema;

/// <summary>
/// What the flywheel records, so analytics can show rounds and versions over time: one row per round and per version
/// (ReplacingMergeTree on updated_at: the latest state wins), and the inputs each round used.
/// </summary>
public static class FlywheelTables
{
    public const string Rounds = "flywheel_rounds";
    public const string Versions = "model_versions";
    public const string RoundInputs = "round_inputs";

    public static IReadOnlyList<Column> RoundColumns { get; } =
    [
        new("round_id", "String"),
        new("model_group", "LowCardinality(String)"),
        new("tasks", "Array(LowCardinality(String))"),
        new("status", "LowCardinality(String)"),
        new("started_at", "DateTime64(3, 'UTC')"),
        new("updated_at", "DateTime64(3, 'UTC')"),
        new("window_from", "DateTime64(6, 'UTC')"),
        new("window_to", "DateTime64(6, 'UTC')"),
        new("inputs", "UInt32"),
        new("tuning_inputs", "UInt32"),
        new("held_out_inputs", "UInt32"),
        new("parent_version", "String"),
        new("candidate_version", "String"),
        new("reward_first", "Float64"),
        new("reward_last", "Float64"),
        new("evaluation", "String"),
        new("decision", "LowCardinality(String)"),
        new("reason", "String"),
        new("duration_s", "Float64"),
    ];

    public static IReadOnlyList<Column> VersionColumns { get; } =
    [
        new("version", "String"),
        new("model_group", "LowCardinality(String)"),
        new("parent", "String"),
        new("created_at", "DateTime64(3, 'UTC')"),
        new("updated_at", "DateTime64(3, 'UTC')"),
        new("status", "LowCardinality(String)"),
        new("round_id", "String"),
        new("evaluation", "String"),
        new("decision", "String"),
    ];

    public static IReadOnlyList<Column> RoundInputColumns { get; } =
    [
        new("round_id", "String"),
        new("request_id", "UUID"),
        new("prompt_hash", "UInt64"),
        new("task", "LowCardinality(String)"),
        new("role", "LowCardinality(String)"),
    ];
}
