using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Tao.Gateway;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Serving.Tests;

/// <summary>
/// The model server on loopback hosting a tiny model under <see cref="Version"/>, and the gateway in front of it as a
/// deployment runs them (capturing into the embedded store).
/// </summary>
public sealed class ServingStack : IAsyncDisposable
{
    public const string AdminKey = "serving-test-admin";
    public const string Version = "g-base";
    public const string ClientKey = "sk-serving-test-client";

    private ServingStack()
    {
    }

    public ClickHouseStore Store { get; private set; } = null!;
    public WebApplication Server { get; private set; } = null!;
    public WebApplication Gateway { get; private set; } = null!;
    public Uri ServerUrl { get; private set; } = null!;
    public Uri GatewayUrl { get; private set; } = null!;

    public static async Task<ServingStack> StartAsync()
    {
        var stack = new ServingStack();
        try
        {
            await stack.InitializeAsync();
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }

        return stack;
    }

    private async Task InitializeAsync()
    {
        var folder = TestEngine.NewFolder("serving");
        Server = ModelServerApp.Build(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tao:Serve:Urls"] = "http://127.0.0.1:0",
            ["Tao:Serve:AdminKey"] = AdminKey,
            ["Tao:Serve:DefaultMaxTokens"] = "8",
            // A window long enough that concurrent test calls meet in one batch however busy the machine (4 ms by default).
            ["Tao:Serve:BatchWindowMs"] = "250",
        }).Build());
        await Server.StartAsync();
        ServerUrl = Address(Server);
        Server.Services.GetRequiredService<ModelHost>().Load(Version, TinyBase.Folder);

        var database = TestEngine.NewDatabase("serving");
        Store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = database });
        await new SchemaMigrator(Store).MigrateAsync();
        Gateway = GatewayApp.Build(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tao:Gateway:Urls"] = "http://127.0.0.1:0",
            ["Tao:Gateway:StatePath"] = Path.Combine(folder, "gateway"),
            ["Tao:ClickHouse:EmbeddedPath"] = TestEngine.EnginePath,
            ["Tao:ClickHouse:Database"] = database,
            ["Tao:Capture:Spool:Path"] = Path.Combine(folder, "spool"),
            ["Tao:Capture:Spool:SegmentBytes"] = (1024 * 1024).ToString(),
            ["Tao:Auth:AdminKey"] = AdminKey,
            ["Tao:Auth:Keys:0:Id"] = "test-client",
            ["Tao:Auth:Keys:0:Key"] = ClientKey,
            ["ReverseProxy:Clusters:tao-models:Destinations:d1:Address"] = ServerUrl.ToString(),
            [$"Tao:Models:{Version}:Cluster"] = "tao-models",
            [$"Tao:Models:{Version}:Version"] = Version,
        }).Build(), Store);
        await Gateway.StartAsync();
        GatewayUrl = Address(Gateway);
    }

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

    public async ValueTask DisposeAsync()
    {
        if (Gateway is not null)
        {
            await Gateway.StopAsync();
            await Gateway.DisposeAsync();
        }

        if (Server is not null)
        {
            await Server.StopAsync();
            await Server.DisposeAsync();
        }

        if (Store is not null)
        {
            await Store.DisposeAsync();
        }
    }
}
