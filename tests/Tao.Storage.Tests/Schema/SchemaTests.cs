using Tao.Storage.Schema;

namespace Tao.Storage.Tests.Schema;

public sealed class SchemaTests
{
    [Fact]
    public async Task Migrate_Twice_AppliesEachStepOnce()
    {
        var options = new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = TestEngine.NewDatabase("mig") };
        await using var store = await ClickHouseStore.OpenAsync(options);

        await new SchemaMigrator(store).MigrateAsync();
        await new SchemaMigrator(store).MigrateAsync();

        var versions = Convert.ToUInt64(await store.Client.ExecuteScalarAsync($"SELECT count() FROM {options.Database}.schema_migrations FINAL"));
        Assert.Equal((ulong)Migrations.All(new SchemaDdl(options)).Count(), versions);
        var engine = await store.Client.ExecuteScalarAsync(
            $"SELECT engine FROM system.tables WHERE database = '{options.Database}' AND name = 'captures'");
        Assert.Equal("ReplacingMergeTree", engine);
    }

    [Fact]
    public void ClusterVariant_CreatesReplicatedLocalTablesAndADistributedTableOverThem()
    {
        var ddl = new SchemaDdl(new ClickHouseOptions { Database = "tao", Cluster = "tao_cluster" });

        var statements = Migrations.All(ddl).First().Statements;

        Assert.Equal(2, statements.Count);
        Assert.Contains("CREATE TABLE IF NOT EXISTS tao.captures_local ON CLUSTER tao_cluster", statements[0]);
        Assert.Contains("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/tao/captures_local', '{replica}')", statements[0]);
        Assert.Contains("ENGINE = Distributed(tao_cluster, tao, captures_local, cityHash64(request_id))", statements[1]);
    }

    [Fact]
    public async Task Migration6_AddsTheRecordVersion2ColumnsAndOldRowsReadEmptyArrays()
    {
        var options = new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = TestEngine.NewDatabase("mig6") };
        await using var store = await ClickHouseStore.OpenAsync(options);
        var ddl = new SchemaDdl(options);
        // A store that ran the first five migrations and holds a row written then.
        await store.Client.ExecuteNonQueryAsync(ddl.CreateDatabase());
        foreach (var statement in Migrations.All(ddl).Where(m => m.Version <= 5).SelectMany(m => m.Statements))
        {
            await store.Client.ExecuteNonQueryAsync(statement);
        }

        await store.Client.ExecuteNonQueryAsync($"CREATE TABLE {options.Database}.schema_migrations (version UInt32, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree ORDER BY version");
        await store.Client.ExecuteNonQueryAsync($"INSERT INTO {options.Database}.schema_migrations (version) VALUES (1), (2), (3), (4), (5)");
        await store.Client.ExecuteNonQueryAsync(
            $"INSERT INTO {options.Database}.captures (request_id, started_at, endpoint, status) VALUES (generateUUIDv7(), now64(6), 'chat.completions', 200)");

        await new SchemaMigrator(store).MigrateAsync();

        var columns = new List<string>();
        using (var reader = await store.Client.ExecuteReaderAsync($"SELECT name FROM system.columns WHERE database = '{options.Database}' AND table = 'captures'"))
        {
            while (reader.Read())
            {
                columns.Add(reader.GetString(0));
            }
        }

        Assert.Contains("attempts", columns);
        Assert.Contains("tool_calls", columns);
        Assert.Equal("[]", await store.Client.ExecuteScalarAsync($"SELECT any(attempts) FROM {options.Database}.captures"));
        Assert.Equal(CapturesTable.InsertColumns.Count + 1, columns.Count); // + ingested_at
    }

    [Fact]
    public void Migration7_OnACluster_AltersTheLocalTablesAndTheDistributedTable()
    {
        var ddl = new SchemaDdl(new ClickHouseOptions { Database = "tao", Cluster = "tao_cluster" });

        var statements = Migrations.All(ddl).Single(m => m.Version == 7).Statements;

        Assert.Equal(2, statements.Count);
        Assert.StartsWith("ALTER TABLE tao.captures_local ON CLUSTER tao_cluster", statements[0]);
        Assert.Contains("ADD COLUMN IF NOT EXISTS attempts String DEFAULT '[]' CODEC(ZSTD(3))", statements[0]);
        Assert.StartsWith("ALTER TABLE tao.captures ON CLUSTER tao_cluster", statements[1]);
        Assert.Contains("ADD COLUMN IF NOT EXISTS tool_calls String", statements[1]);
    }

    [Theory]
    [InlineData("tao")]
    [InlineData("tao_prod_1")]
    public void Validate_AcceptsPlainIdentifiers(string database) => new ClickHouseOptions { Database = database }.Validate();

    [Theory]
    [InlineData("tao; DROP DATABASE x")]
    [InlineData("1tao")]
    [InlineData("tao`")]
    public void Validate_RefusesAnythingElse(string database) =>
        Assert.Throws<ArgumentException>(() => new ClickHouseOptions { Database = database }.Validate());
}
