namespace Tao.Storage.Schema;

/// <summary>
/// Writes DDL for a single node (the embedded engine or one server) or for a cluster, where each table is a
/// Replicated* table <c>name_local</c> on every node plus a Distributed table <c>name</c> over them, so code
/// reads and writes <c>name</c> in both topologies.
/// </summary>
public sealed class SchemaDdl(ClickHouseOptions options)
{
    public const string MigrationsTable = "schema_migrations";

    public ClickHouseOptions Options { get; } = options;

    private bool Clustered => Options.Cluster is { Length: > 0 };

    private string OnCluster => Clustered ? $" ON CLUSTER {Options.Cluster}" : string.Empty;

    public string Qualified(string table) => $"{Options.Database}.{table}";

    public string CreateDatabase() => $"CREATE DATABASE IF NOT EXISTS {Options.Database}{OnCluster}";

    public IReadOnlyList<string> CreateTable(
        string name, IReadOnlyList<Column> columns, string engine, string orderBy, string? partitionBy, string shardingKey = "rand()")
    {
        var body = string.Join(",\n    ", columns.Select(c => c.Definition));
        var partition = partitionBy is null ? string.Empty : $"\nPARTITION BY {partitionBy}";
        if (!Clustered)
        {
            return [$"CREATE TABLE IF NOT EXISTS {Qualified(name)}\n(\n    {body}\n)\nENGINE = {engine}{partition}\nORDER BY {orderBy}"];
        }

        var local = $"{name}_local";
        // ReplacingMergeTree(ver) becomes ReplicatedReplacingMergeTree('/path', '{replica}', ver).
        var open = engine.IndexOf('(');
        var engineName = open < 0 ? engine : engine[..open];
        var engineArgs = open < 0 ? string.Empty : engine[(open + 1)..^1].Trim();
        var path = $"'/clickhouse/tables/{{shard}}/{Options.Database}/{local}', '{{replica}}'";
        var replicated = $"Replicated{engineName}({path}{(engineArgs.Length > 0 ? ", " + engineArgs : string.Empty)})";
        return
        [
            $"CREATE TABLE IF NOT EXISTS {Qualified(local)}{OnCluster}\n(\n    {body}\n)\nENGINE = {replicated}{partition}\nORDER BY {orderBy}",
            $"CREATE TABLE IF NOT EXISTS {Qualified(name)}{OnCluster} AS {Qualified(local)}\nENGINE = Distributed({Options.Cluster}, {Options.Database}, {local}, {shardingKey})",
        ];
    }

    /// <summary>Adds a column to a table (and, on a cluster, to its local tables) unless it is there already.</summary>
    public IReadOnlyList<string> AddColumn(string table, Column column, string after) =>
        Clustered
            ? [$"ALTER TABLE {Qualified(table + "_local")}{OnCluster} ADD COLUMN IF NOT EXISTS {column.Definition} AFTER {after}",
               $"ALTER TABLE {Qualified(table)}{OnCluster} ADD COLUMN IF NOT EXISTS {column.Definition} AFTER {after}"]
            : [$"ALTER TABLE {Qualified(table)} ADD COLUMN IF NOT EXISTS {column.Definition} AFTER {after}"];

    /// <summary>
    /// Adds columns to a table made by <see cref="CreateTable"/> (idempotent). On a cluster every node's local table
    /// gets the full definition and the Distributed table over them the name and type, so both keep one shape.
    /// </summary>
    public IReadOnlyList<string> AddColumns(string table, IReadOnlyList<Column> columns)
    {
        static string Add(IEnumerable<string> definitions) => string.Join(",\n    ", definitions.Select(d => $"ADD COLUMN IF NOT EXISTS {d}"));
        if (!Clustered)
        {
            return [$"ALTER TABLE {Qualified(table)}\n    {Add(columns.Select(c => c.Definition))}"];
        }

        return
        [
            $"ALTER TABLE {Qualified(table + "_local")}{OnCluster}\n    {Add(columns.Select(c => c.Definition))}",
            $"ALTER TABLE {Qualified(table)}{OnCluster}\n    {Add(columns.Select(c => $"{c.Name} {c.Type}"))}",
        ];
    }

    /// <summary>
    /// A materialized view feeding <paramref name="target"/> from every insert into <paramref name="source"/>. On a
    /// cluster it reads the node's <c>source_local</c> and writes its <c>target_local</c>, so each replica aggregates
    /// what it stores.
    /// </summary>
    public string CreateMaterializedView(string name, string target, string source, Func<string, string> select) =>
        Clustered
            ? $"CREATE MATERIALIZED VIEW IF NOT EXISTS {Qualified(name + "_local")}{OnCluster} TO {Qualified(target + "_local")} AS\n{select(Qualified(source + "_local"))}"
            : $"CREATE MATERIALIZED VIEW IF NOT EXISTS {Qualified(name)} TO {Qualified(target)} AS\n{select(Qualified(source))}";
}
