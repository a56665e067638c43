using System.Net;
using System.Net.Sockets;
using Tao.Gateway.Hosting;
using Tao.Hosting;
using Tao.Storage;
using Tao.Tests;

namespace Tao.Deploy.Tests;

/// <summary>A gateway that cannot start says why and closes what it opened, so the process exits instead of crashing.</summary>
[Collection(EmbeddedEngineCollection.Name)]
public sealed class GatewayHostTests
{
    [Fact]
    public async Task APortAlreadyTaken_FailsTheStart_AndTheEmbeddedEngineIsClosed()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var configuration = TaoConfiguration.Build(TestEngine.NewFolder("gateway-host"), [], new Dictionary<string, string?>
        {
            ["Tao:Gateway:Urls"] = $"http://127.0.0.1:{port}",
            ["Tao:Gateway:WarmUpSeconds"] = "0",
        });

        var error = await Assert.ThrowsAsync<IOException>(() => GatewayHost.StartAsync(configuration, CancellationToken.None));

        Assert.IsType<Microsoft.AspNetCore.Connections.AddressInUseException>(error.InnerException);
        // chDB holds one storage path per process: had the failed start left its engine open, this would be refused
        // (and its threads outliving Main crashed the process on exit, before this was fixed).
        await using var other = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = Path.Combine(TestEngine.NewFolder("other"), "clickhouse") });
        Assert.Equal(1L, Convert.ToInt64(await other.Client.ExecuteScalarAsync("SELECT 1")));
    }
}
