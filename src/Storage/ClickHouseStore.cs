using ClickHouse.Driver;
using ClickHouse.Driver.ADO;
using Tao.Storage.Embedded;

namespace Tao.Storage;

/// <summary>
/// The one way Tao talks to ClickHouse: a ClickHouse.Driver client pointed at a server, or at the
/// embedded engine through an in-process HTTP handler. Everything above this class runs the same
/// code in both modes.
/// </summary>
public sealed class ClickHouseStore : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly ChdbEngine? _engine;
    private readonly EmbeddedClickHouseServer? _server;

    private ClickHouseStore(ClickHouseOptions options, ClickHouseClient client, HttpClient http, ChdbEngine? engine, EmbeddedClickHouseServer? server)
    {
        Options = options;
        Client = client;
        _http = http;
        _engine = engine;
        _server = server;
    }

    public ClickHouseOptions Options { get; }

    public ClickHouseClient Client { get; }

    public string Database => Options.Database;

    public bool IsEmbedded => _engine is not null;

    /// <summary>Where ordinary ClickHouse clients reach the embedded store, when it is exposed.</summary>
    public Uri? EmbeddedHttpEndpoint => _server?.Endpoint;

    /// <summary>The users the exposed embedded store accepts (and whether their passwords were just generated), or null.</summary>
    public EmbeddedHttpCredentials? EmbeddedHttpCredentials => _server?.Credentials;

    /// <summary>The embedded engine, when there is one (the SQL verifier of the trainer runs candidates on it).</summary>
    public ChdbEngine? Engine => _engine;

    // ClickHouse.Driver finds constructors by reflection: System.Tuple<double, double>'s for its Point type when its first
    // reader opens, Dictionary<string, string>'s (with a capacity) for the schema's Map(String, String) columns. A Native
    // AOT build (src/GatewayServer) keeps them only when told to; tests/Tao.Deploy.Tests/NativeGatewayTests.cs runs both.
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors, typeof(Tuple<double, double>))]
    [System.Diagnostics.CodeAnalysis.DynamicDependency(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicConstructors, typeof(Dictionary<string, string>))]
    public static async Task<ClickHouseStore> OpenAsync(ClickHouseOptions options, CancellationToken cancellationToken = default)
    {
        options.Validate();
        ChdbEngine? engine = null;
        EmbeddedClickHouseServer? server = null;
        HttpClient http;
        ClickHouseClientSettings settings;
        if (options.IsEmbedded)
        {
            engine = ChdbEngine.Open(options.EmbeddedPath, nice: options.EmbeddedNice);
            http = new HttpClient(new ChdbHttpHandler(engine)) { Timeout = Timeout.InfiniteTimeSpan };
            // In process there is no wire to save: compressing each insert only to decompress it again costs CPU the proxy needs.
            settings = new ClickHouseClientSettings { Host = "embedded", Port = 8123, HttpClient = http, Timeout = TimeSpan.FromMinutes(5), UseCompression = false };
            if (options.EmbeddedHttpPort > 0)
            {
                try
                {
                    server = await EmbeddedClickHouseServer.StartAsync(
                        engine, options.EmbeddedHttpPort, EmbeddedHttpCredentials.Resolve(options), cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // A taken port or an unreadable credentials file: leave the engine, or this process keeps it open for nothing.
                    http.Dispose();
                    engine.Dispose();
                    throw;
                }
            }
        }
        else
        {
            var url = new Uri(options.Url!);
            http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
            settings = new ClickHouseClientSettings
            {
                Host = url.Host,
                Port = (ushort)url.Port,
                Protocol = url.Scheme,
                Username = options.Username,
                Password = options.Password ?? string.Empty,
                HttpClient = http,
                Timeout = TimeSpan.FromMinutes(5),
            };
        }

        var client = new ClickHouseClient(settings);
        return new ClickHouseStore(options, client, http, engine, server);
    }

    /// <summary>Settings for reads on behalf of users: read-only, time- and memory-limited.</summary>
    public QueryOptions ReadOnlyQuery() => new()
    {
        CustomSettings = new Dictionary<string, object>
        {
            ["readonly"] = 2,
            ["max_execution_time"] = Options.QueryTimeoutSeconds,
            ["max_memory_usage"] = Options.QueryMaxMemoryBytes,
        },
    };

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync().ConfigureAwait(false);
        }

        Client.Dispose();
        _http.Dispose();
        _engine?.Dispose();
    }
}
