using Tao.Gateway.Hosting;
using Tao.Storage;
using Tao.Storage.Schema;
using Tao.Tests;

namespace Tao.Deploy.Tests;

/// <summary>
/// Classes of this assembly that open the process's embedded engine: chDB allows one storage path per process, so they
/// must not run at the same time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class EmbeddedEngineCollection
{
    public const string Name = "embedded engine";
}

/// <summary>The gateway's warm-up: real calls through a throwaway gateway, and nothing of it left in the store or on disk.</summary>
[Collection(EmbeddedEngineCollection.Name)]
public sealed class GatewayWarmUpTests
{
    [Fact]
    public async Task WarmUp_ProxiesPlainAndStreamedCalls_AndLeavesNothingInTheStoreOrOnDisk()
    {
        var data = TestEngine.NewFolder("warm-up");
        await using var store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = Path.Combine(data, "clickhouse"), Database = "tao" });
        await new SchemaMigrator(store).MigrateAsync();

        var result = await GatewayWarmUp.RunAsync(store, TimeSpan.FromSeconds(1.5), connections: 4, CancellationToken.None);

        Assert.True(result.Calls >= 4, $"{result.Calls} calls"); // each of the 4 callers calls at least once, however slow the machine
        Assert.Equal(0, result.Failed);
        Assert.True(result.Streamed > 0 && result.Streamed < result.Calls, $"{result.Streamed} of {result.Calls} streamed");
        Assert.True(result.Captured > 0, "the throwaway gateway captured into its own spool");
        Assert.False(Directory.Exists(result.Folder), "its spool and state folders are deleted");
        Assert.Equal(0L, Convert.ToInt64(await store.Client.ExecuteScalarAsync("SELECT count() FROM tao.captures")));
    }
}
