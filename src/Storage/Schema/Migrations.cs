namespace Tao.Storage.Schema;

/// <summary>Every schema step, oldest first. Append new steps; never edit a released one.</summary>
internal static class Migrations
{
    public static IEnumerable<Migration> All(SchemaDdl ddl)
    {
        yield return new Migration(1, "captures table", ddl.CreateTable(
            CapturesTable.Name,
            CapturesTable.Columns(ddl.Options.BodyRetentionDays),
            engine: "ReplacingMergeTree",
            orderBy: "(task, started_at, request_id)",
            partitionBy: "toYYYYMM(started_at)",
            shardingKey: "cityHash64(request_id)"));

        yield return new Migration(2, "flywheel rounds, model versions, round inputs", [
            .. ddl.CreateTable(FlywheelTables.Rounds, FlywheelTables.RoundColumns, "ReplacingMergeTree(updated_at)", "round_id", partitionBy: null, shardingKey: "cityHash64(round_id)"),
            .. ddl.CreateTable(FlywheelTables.Versions, FlywheelTables.VersionColumns, "ReplacingMergeTree(updated_at)", "version", partitionBy: null, shardingKey: "cityHash64(version)"),
            .. ddl.CreateTable(FlywheelTables.RoundInputs, FlywheelTables.RoundInputColumns, "ReplacingMergeTree", "(round_id, request_id)", partitionBy: null, shardingKey: "cityHash64(round_id)"),
        ]);

        yield return new Migration(3, "gateway state shared by replicas", ddl.CreateTable(
            GatewayStateTable.Name, GatewayStateTable.Columns, "ReplacingMergeTree(version)", "key", partitionBy: null, shardingKey: "cityHash64(key)"));

        yield return new Migration(4, "per-minute traffic rollup fed by a materialized view", [
            .. ddl.CreateTable(TrafficRollup.Name, TrafficRollup.Columns, "AggregatingMergeTree", $"(minute, {string.Join(", ", TrafficRollup.Dimensions)})",
                partitionBy: "toYYYYMM(minute)", shardingKey: "rand()"),
            ddl.CreateMaterializedView(TrafficRollup.View, TrafficRollup.Name, CapturesTable.Name, TrafficRollup.Select),
            .. TrafficRollup.Backfill(ddl),
        ]);

        yield return new Migration(5, "per-key usage shared by replicas for rate limits and budgets", ddl.CreateTable(
            KeyUsageTable.Name, KeyUsageTable.Columns, "ReplacingMergeTree(updated)", "(key_id, window, instance)",
            partitionBy: "toYYYYMM(window)", shardingKey: "cityHash64(key_id)"));

        yield return new Migration(6, "feedback on requests and episodes; episode ids on captures", [
            .. ddl.CreateTable(FeedbackTable.Name, FeedbackTable.Columns, "ReplacingMergeTree(created_at)", "(target_id, metric, api_key_id)",
                partitionBy: "toYYYYMM(created_at)", shardingKey: "cityHash64(target_id)"),
            .. ddl.AddColumn(CapturesTable.Name, CapturesTable.EpisodeId, after: "task"),
        ]);

        yield return new Migration(7, "capture record version 2: upstream attempts and tool calls",
            ddl.AddColumns(CapturesTable.Name, CapturesTable.AddedColumns(ddl.Options.BodyRetentionDays)));

        yield return new Migration(8, "capture record version 3: choices, reasoning, refusal, response format, log-probabilities",
            ddl.AddColumns(CapturesTable.Name, CapturesTable.TrainingColumns(ddl.Options.BodyRetentionDays)));

        yield return new Migration(9, "capture record version 4: sampled and prompt token ids",
            ddl.AddColumns(CapturesTable.Name, CapturesTable.TokenColumns(ddl.Options.BodyRetentionDays)));
    }
}
