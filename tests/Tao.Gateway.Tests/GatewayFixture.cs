using System.ClientModel;
using ClickHouse.Driver.Utility;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;
using Tao.Bench;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Gateway.Tests;

/// <summary>
/// A real gateway on a loopback port in front of a fake upstream, capturing into the embedded ClickHouse engine.
/// </summary>
public class GatewayFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-test-support-key";
    public const string AdminKey = "test-admin-key";
    public const string UpstreamCredential = "sk-upstream-secret";
    public const string SharedSecret = "test-gateway-secret-shared-by-replicas";

    /// <summary>Task "support" (and "support-escalations"), model alias "support-bot" only.</summary>
    public const string ScopedKey = "sk-test-scoped-key";

    /// <summary>Unscoped, may turn capture off per call.</summary>
    public const string PrivateKey = "sk-test-private-key";

    private readonly Dictionary<string, string?> _overrides;
    private Dictionary<string, string?> _settings = [];

    public GatewayFixture() : this([])
    {
    }

    protected GatewayFixture(Dictionary<string, string?> overrides) => _overrides = overrides;

    public FakeUpstream Upstream { get; private set; } = null!;
    public ClickHouseStore Store { get; private set; } = null!;
    public WebApplication App { get; private set; } = null!;
    public Uri Address { get; private set; } = null!;
    public string Folder { get; private set; } = null!;
    public string Database { get; } = TestEngine.NewDatabase("gw");

    /// <summary>Every log line the gateway wrote (message and exception), for checks that secrets never reach logs.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> Logs { get; } = new();

    public virtual async Task InitializeAsync()
    {
        Upstream = await FakeUpstream.StartAsync(record: true);
        Folder = TestEngine.NewFolder("gateway");
        var settings = new Dictionary<string, string?>
        {
            ["Tao:Gateway:Urls"] = "http://127.0.0.1:0",
            ["Tao:Gateway:StatePath"] = Path.Combine(Folder, "state"),
            ["Tao:Gateway:InstanceId"] = "gw-test",
            ["Tao:Gateway:StateSyncSeconds"] = "0.5",
            ["Tao:Gateway:LimitSyncSeconds"] = "0.2",
            ["Tao:Gateway:Secrets:0"] = SharedSecret, // replicas behind one load balancer share it
            ["Tao:Auth:Keys:1:Id"] = "key_scoped",
            ["Tao:Auth:Keys:1:Name"] = "scoped app",
            ["Tao:Auth:Keys:1:Key"] = ScopedKey,
            ["Tao:Auth:Keys:1:Task"] = "support",
            ["Tao:Auth:Keys:1:Tasks:0"] = "support-escalations",
            ["Tao:Auth:Keys:1:Models:0"] = "support-bot",
            ["Tao:Auth:Keys:2:Id"] = "key_private",
            ["Tao:Auth:Keys:2:Name"] = "private app",
            ["Tao:Auth:Keys:2:Key"] = PrivateKey,
            ["Tao:Auth:Keys:2:CaptureControl"] = "true",
            ["Tao:Feedback:Metrics:thumbs_up:Type"] = "Boolean",
            ["Tao:Feedback:Metrics:rating:Type"] = "Float",
            ["Tao:Feedback:Metrics:task_success:Type"] = "Boolean",
            ["Tao:Feedback:Metrics:task_success:Level"] = "Episode",
            ["Tao:Analytics:Prices:tuned-model:Prompt"] = "100000",
            ["Tao:Analytics:Prices:tuned-model:Completion"] = "100000",
            ["Tao:Gateway:MaxRequestBodyBytes"] = "65536",
            ["Tao:Gateway:RequestBodyTimeoutSeconds"] = "2",
            ["Tao:ClickHouse:EmbeddedPath"] = TestEngine.EnginePath,
            ["Tao:ClickHouse:Database"] = Database,
            ["Tao:Capture:Spool:Path"] = Path.Combine(Folder, "spool"),
            ["Tao:Capture:Spool:SegmentBytes"] = (1024 * 1024).ToString(),
            ["Tao:Capture:Spool:FlushPolicy"] = "None",
            ["Tao:Capture:ClickHouse:LingerMs"] = "5",
            ["Tao:Capture:SecretFields:0"] = "api_key",
            ["Tao:Capture:SecretFields:1"] = "password",
            ["Tao:Capture:Redaction:Emails"] = "true",
            ["Tao:Capture:Redaction:CardNumbers"] = "true",
            ["Tao:Auth:AdminKey"] = AdminKey,
            ["Tao:Auth:Keys:0:Id"] = "key_support",
            ["Tao:Auth:Keys:0:Name"] = "support app",
            ["Tao:Auth:Keys:0:Key"] = ApiKey,
            ["Tao:Auth:Keys:0:Task"] = "support",
            ["ReverseProxy:Clusters:fake:Destinations:d1:Address"] = Upstream.Address.ToString(),
            ["ReverseProxy:Clusters:fake:HttpRequest:ActivityTimeout"] = "00:00:30", // upstream timeouts: ResilienceFixture's stalling cluster
            ["ReverseProxy:Clusters:dead:Destinations:d1:Address"] = "http://127.0.0.1:9/",
            ["Tao:Models:base-model:Cluster"] = "fake",
            ["Tao:Models:base-model:UpstreamModel"] = "upstream-base",
            ["Tao:Models:base-model:ApiKey"] = UpstreamCredential,
            ["Tao:Models:base-model:Version"] = "base",
            ["Tao:Models:tuned-model:Cluster"] = "fake",
            ["Tao:Models:tuned-model:UpstreamModel"] = "upstream-tuned",
            ["Tao:Models:tuned-model:Version"] = "r1",
            ["Tao:Models:dead-model:Cluster"] = "dead",
            ["Tao:Aliases:support-bot"] = "base-model",
            ["Tao:Gateway:Readiness:ProbeIntervalSeconds"] = "1",
        };
        foreach (var (key, value) in _overrides)
        {
            settings[key] = value;
        }

        await ConfigureAsync(settings);
        _settings = settings;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var storeOptions = configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>()!;
        Store = await ClickHouseStore.OpenAsync(storeOptions);
        await new SchemaMigrator(Store).MigrateAsync();
        App = GatewayApp.Build(configuration, Store, builder => builder.Logging.AddProvider(new CollectingLoggerProvider(Logs)));
        await App.StartAsync();
        var addresses = App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        Address = new Uri(addresses.Addresses.First());
    }

    /// <summary>Lets a derived fixture start more upstreams and add their settings before the gateway starts.</summary>
    protected virtual Task ConfigureAsync(Dictionary<string, string?> settings) => Task.CompletedTask;

    /// <summary>
    /// Starts another gateway replica on the same store and upstreams, with its own state folder and spool, as a second
    /// instance behind a load balancer would run. Disposing it stops it (<c>await using var replica = …</c>).
    /// </summary>
    public async Task<GatewayReplica> StartReplicaAsync(string name, Dictionary<string, string?>? overrides = null)
    {
        var folder = TestEngine.NewFolder(name);
        var settings = new Dictionary<string, string?>(_settings)
        {
            ["Tao:Gateway:StatePath"] = Path.Combine(folder, "state"),
            ["Tao:Gateway:InstanceId"] = name,
            ["Tao:Capture:Spool:Path"] = Path.Combine(folder, "spool"),
        };
        foreach (var (key, value) in overrides ?? [])
        {
            settings[key] = value;
        }

        var app = GatewayApp.Build(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), Store);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        return new GatewayReplica(app, new Uri(addresses.Addresses.First()));
    }

    public ChatClient Chat(string model, string key = ApiKey, Dictionary<string, string>? headers = null)
    {
        var options = new OpenAIClientOptions { Endpoint = new Uri(Address, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) };
        if (headers is not null)
        {
            options.AddPolicy(new HeaderPolicy(headers), System.ClientModel.Primitives.PipelinePosition.PerCall);
        }

        return new ChatClient(model, new ApiKeyCredential(key), options);
    }

    public HttpClient Http(string? key = ApiKey)
    {
        var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    /// <summary>Waits until the captures table holds the request (the ClickHouse sink ships asynchronously).</summary>
    public async Task<Dictionary<string, object?>> WaitForRecordAsync(Guid requestId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var parameters = new ClickHouse.Driver.ADO.Parameters.ClickHouseParameterCollection();
            parameters.AddParameter("id", requestId);
            using (var reader = await Store.Client.ExecuteReaderAsync(
                $"SELECT * FROM {Database}.captures FINAL WHERE request_id = {{id:UUID}}", parameters))
            {
                if (reader.Read())
                {
                    var row = new Dictionary<string, object?>(StringComparer.Ordinal);
                    for (var i = 0; i < reader.FieldCount; i++)
                    {
                        row[reader.GetName(i)] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                    }

                    return row;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no capture record for {requestId}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Rows of any table in the fixture's database: "table WHERE condition".</summary>
    public async Task<long> CountRowsAsync(string tableAndCondition) =>
        Convert.ToInt64(await Store.Client.ExecuteScalarAsync($"SELECT count() FROM {Database}.{tableAndCondition}"));

    public async Task<long> CountAsync(string where = "1")
    {
        var value = await Store.Client.ExecuteScalarAsync($"SELECT count() FROM {Database}.captures FINAL WHERE {where}");
        return Convert.ToInt64(value);
    }

    public virtual async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        await Store.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

/// <summary>Keeps every formatted log line in memory.</summary>
internal sealed class CollectingLoggerProvider(System.Collections.Concurrent.ConcurrentQueue<string> lines) : Microsoft.Extensions.Logging.ILoggerProvider
{
    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => new Logger(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
