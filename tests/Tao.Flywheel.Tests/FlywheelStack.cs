using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Tao.Serving;
using Tao.Storage;
using Tao.Storage.Schema;
using Tao.Trainer.Registry;

namespace Tao.Flywheel.Tests;

/// <summary>
/// The whole loop on loopback: a model server hosting a tiny model, the gateway in front of it capturing into the embedded
/// store, and the flywheel (its service built but only started when a test asks).
/// </summary>
public sealed class FlywheelStack : IAsyncDisposable
{
    public const string AdminKey = "flywheel-test-admin";
    public const string Group = "g";
    public const string Alias = "g-alias";
    public const string BaseVersion = "g-base";
    public const string Task = "t";
    public const string ClientKey = "sk-flywheel-test-client";

    private long _sent;

    private FlywheelStack(string folder) => Folder = folder;

    public string Folder { get; }
    public ClickHouseStore Store { get; private set; } = null!;
    public ModelRegistry Registry { get; private set; } = null!;
    public WebApplication Server { get; private set; } = null!;
    public WebApplication Gateway { get; private set; } = null!;
    public WebApplication Flywheel { get; private set; } = null!;
    public Uri ServerUrl { get; private set; } = null!;
    public Uri GatewayUrl { get; private set; } = null!;
    public IConfiguration Configuration { get; private set; } = null!;

    public FlywheelService Service => Flywheel.Services.GetRequiredService<FlywheelService>();
    public RoundRunner Runner => Flywheel.Services.GetRequiredService<RoundRunner>();
    public Promoter Promoter => Flywheel.Services.GetRequiredService<Promoter>();
    public FlywheelStore Rounds => Flywheel.Services.GetRequiredService<FlywheelStore>();
    public ModelGroupOptions GroupOptions => Flywheel.Services.GetRequiredService<FlywheelOptions>().Groups[Group];

    public static async Task<FlywheelStack> StartAsync(Dictionary<string, string?>? overrides = null, bool startFlywheel = false, string? folder = null,
        string? database = null)
    {
        var stack = new FlywheelStack(folder ?? TestEngine.NewFolder("stack"));
        await stack.InitializeAsync(overrides ?? [], startFlywheel, database ?? TestEngine.NewDatabase("fw"));
        return stack;
    }

    private async Task InitializeAsync(Dictionary<string, string?> overrides, bool startFlywheel, string database)
    {
        Store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = database });
        await new SchemaMigrator(Store).MigrateAsync();
        Registry = new ModelRegistry(Path.Combine(Folder, "registry"));
        if (Registry.Get(BaseVersion) is null)
        {
            Registry.Register(TinyBase.Folder, new ModelVersion { Id = BaseVersion, CreatedAt = DateTimeOffset.UtcNow, Status = "base" });
        }

        var settings = new Dictionary<string, string?>
        {
            ["Tao:Serve:Urls"] = "http://127.0.0.1:0",
            ["Tao:Serve:AdminKey"] = AdminKey,
            ["Tao:Serve:DefaultMaxTokens"] = "8",
            ["Tao:ClickHouse:EmbeddedPath"] = TestEngine.EnginePath,
            ["Tao:ClickHouse:Database"] = database,
        };
        var serverConfiguration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Server = ModelServerApp.Build(serverConfiguration);
        await Server.StartAsync();
        ServerUrl = Address(Server);
        Server.Services.GetRequiredService<ModelHost>().Load(BaseVersion, Registry.Folder(BaseVersion));

        settings["Tao:Gateway:Urls"] = "http://127.0.0.1:0";
        settings["Tao:Gateway:StatePath"] = Path.Combine(Folder, "gateway");
        settings["Tao:Capture:Spool:Path"] = Path.Combine(Folder, "spool");
        settings["Tao:Capture:Spool:SegmentBytes"] = (1024 * 1024).ToString();
        settings["Tao:Capture:ClickHouse:LingerMs"] = "5";
        settings["Tao:Auth:AllowAnonymous"] = "true";
        settings["Tao:Feedback:Metrics:thumbs_up:Type"] = "Boolean";
        settings["Tao:Auth:AdminKey"] = AdminKey;
        settings["Tao:Auth:Keys:0:Id"] = "test-client";
        settings["Tao:Auth:Keys:0:Key"] = ClientKey;
        settings["ReverseProxy:Clusters:tao-models:Destinations:d1:Address"] = ServerUrl.ToString();
        settings[$"Tao:Models:{BaseVersion}:Cluster"] = "tao-models";
        settings[$"Tao:Models:{BaseVersion}:Version"] = BaseVersion;
        settings[$"Tao:Aliases:{Alias}"] = BaseVersion;
        var gatewayConfiguration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Gateway = Tao.Gateway.GatewayApp.Build(gatewayConfiguration, Store);
        await Gateway.StartAsync();
        GatewayUrl = Address(Gateway);

        var prefix = $"Tao:Flywheel:Groups:{Group}";
        settings["Tao:Flywheel:Urls"] = "http://127.0.0.1:0";
        settings["Tao:Flywheel:GatewayUrl"] = GatewayUrl.ToString();
        settings["Tao:Flywheel:GatewayAdminKey"] = AdminKey;
        settings["Tao:Flywheel:RegistryPath"] = Path.Combine(Folder, "registry");
        settings["Tao:Flywheel:WorkPath"] = Path.Combine(Folder, "work");
        settings["Tao:Flywheel:PollSeconds"] = "3600";
        settings[$"{prefix}:Alias"] = Alias;
        settings[$"{prefix}:BaseVersion"] = BaseVersion;
        settings[$"{prefix}:Threshold"] = "1000000";
        settings[$"{prefix}:MinIntervalMinutes"] = "0";
        settings[$"{prefix}:HeldOutFraction"] = "0.3";
        settings[$"{prefix}:OlderSampleFraction"] = "0";
        settings[$"{prefix}:Margin"] = "-1";
        settings[$"{prefix}:Tasks:{Task}:Scorer"] = """[{"type": "regex", "pattern": "a"}]""";
        settings[$"{prefix}:Round:Candidates"] = "4";
        settings[$"{prefix}:Round:Iterations"] = "1";
        settings[$"{prefix}:Round:BatchSize"] = "8";
        settings[$"{prefix}:Round:MaxTokens"] = "8";
        settings[$"{prefix}:Round:MinBestScore"] = "0";
        settings[$"{prefix}:Target:Kind"] = "Local";
        settings[$"{prefix}:Target:Cluster"] = "tao-models";
        settings[$"{prefix}:Target:ServerUrl"] = ServerUrl.ToString();
        settings[$"{prefix}:Target:ServerAdminKey"] = AdminKey;
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        Configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Flywheel = FlywheelApp.Build(Configuration, Store);
        if (startFlywheel)
        {
            await Flywheel.StartAsync();
        }
    }

    /// <summary>Stops and replaces the flywheel as a process restart would (same configuration, store and folders); not started.</summary>
    public async Task RestartFlywheelAsync()
    {
        try
        {
            await Flywheel.StopAsync();
        }
        catch (InvalidOperationException)
        {
        }

        await Flywheel.DisposeAsync();
        Flywheel = FlywheelApp.Build(Configuration, Store);
    }

    /// <summary>Sends chat calls with distinct prompts through the gateway (task tag t) and waits until they are captured.</summary>
    public async Task SendAsync(int count, int offset = 0, string task = Task)
    {
        using var http = new HttpClient { BaseAddress = GatewayUrl };
        for (var i = offset; i < offset + count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = JsonContent.Create(new { model = Alias, max_tokens = 8, temperature = 0, messages = new[] { new { role = "user", content = $"question number {i} about orders" } } }),
            };
            request.Headers.Add("x-tao-task", task);
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            Interlocked.Increment(ref _sent);
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await CountCapturedAsync() < Interlocked.Read(ref _sent) && DateTime.UtcNow < deadline)
        {
            await System.Threading.Tasks.Task.Delay(50);
        }
    }

    /// <summary>The request ids of the calls answered so far (status 200), as the feedback API takes them.</summary>
    public async Task<List<string>> AnsweredRequestIdsAsync()
    {
        var ids = new List<string>();
        using var reader = await Store.Client.ExecuteReaderAsync($"SELECT toString(request_id) FROM {Store.Database}.captures WHERE status = 200");
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>Waits (up to 30 s) until the store holds at least <paramref name="count"/> feedback rows.</summary>
    public async Task WaitForFeedbackAsync(long count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Convert.ToInt64(await Store.Client.ExecuteScalarAsync($"SELECT count() FROM {Store.Database}.feedback")) < count)
        {
            Xunit.Assert.True(DateTime.UtcNow < deadline, "feedback reaches the store");
            await System.Threading.Tasks.Task.Delay(50);
        }
    }

    public async Task<long> CountCapturedAsync() =>
        Convert.ToInt64(await Store.Client.ExecuteScalarAsync($"SELECT uniqExact(request_id) FROM {Store.Database}.captures WHERE status = 200"));

    public async Task<string?> AliasTargetAsync() =>
        await new GatewayAdminClient(new HttpClient { BaseAddress = GatewayUrl }, AdminKey).AliasTargetAsync(Alias, default);

    public Uri FlywheelUrl => Address(Flywheel);

    private static Uri Address(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Flywheel.StopAsync();
        }
        catch (InvalidOperationException)
        {
        }

        await Flywheel.DisposeAsync();
        await Gateway.StopAsync();
        await Gateway.DisposeAsync();
        await Server.StopAsync();
        await Server.DisposeAsync();
        await Store.DisposeAsync();
    }
}
