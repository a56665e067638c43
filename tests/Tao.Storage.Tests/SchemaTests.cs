using Tao.Storage.Schema;

namespace Tao.Storage.Tests;

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
