using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Tao.Bench;
using Tao.Storage;
using Tao.Storage.Embedded;

namespace Tao.Cli.Benchmarks;

/// <summary>
/// What `tao bench` and `tao faults` ask of the processes they start on loopback: a gateway's capture state, whether
/// its sinks have drained, what reached a store or a topic.
/// </summary>
internal static class LoopbackChecks
{
    /// <summary>The gateway's /admin/capture report (spool and sinks).</summary>
    public static async Task<JsonElement> CaptureStateAsync(Uri gateway, string adminKey)
    {
        using var http = new HttpClient { BaseAddress = gateway };
        http.DefaultRequestHeaders.Authorization = new("Bearer", adminKey);
        using var document = JsonDocument.Parse(await http.GetStringAsync("/admin/capture"));
        return document.RootElement.Clone();
    }

    /// <summary>Waits until every sink has taken everything in the spool; false when the time ran out first.</summary>
    public static async Task<bool> DrainAsync(Uri gateway, string adminKey, TimeSpan timeout, TimeSpan poll, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var state = await CaptureStateAsync(gateway, adminKey);
            if (state.GetProperty("sinks").EnumerateArray().All(s => s.GetProperty("lag_bytes").GetInt64() == 0))
            {
                return true;
            }

            await Task.Delay(poll, cancellationToken);
        }

        return false;
    }

    /// <summary>The request id of every row of the captures table in a store served over HTTP (FINAL: one per request).</summary>
    public static async Task<string[]> StoredIdsAsync(LoopbackStore store, bool final, CancellationToken cancellationToken)
    {
        using var http = store.Http(TimeSpan.FromMinutes(2));
        using var response = await http.PostAsync("/",
            new StringContent($"SELECT toString(request_id) FROM tao.captures{(final ? " FINAL" : string.Empty)} FORMAT TabSeparated"), cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsStringAsync(cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static async Task<long> ScalarAsync(LoopbackStore store, string sql, CancellationToken cancellationToken)
    {
        using var http = store.Http(TimeSpan.FromSeconds(100));
        using var response = await http.PostAsync("/", new StringContent(sql + " FORMAT TabSeparated"), cancellationToken);
        response.EnsureSuccessStatusCode();
        return long.Parse((await response.Content.ReadAsStringAsync(cancellationToken)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Reads a topic from the start until it has been quiet for <paramref name="quiet"/>: message count and distinct keys.</summary>
    public static (long Messages, HashSet<string> Keys) ConsumeAll(string bootstrap, string topic, string group, TimeSpan quiet)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = group, AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        long messages = 0;
        var quietUntil = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < quietUntil)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200))?.Message is { } message)
            {
                messages++;
                keys.Add(message.Key);
                quietUntil = DateTime.UtcNow + quiet;
            }
        }

        consumer.Close();
        return (messages, keys);
    }
}

/// <summary>
/// An embedded store a child process serves over ClickHouse's HTTP interface on loopback, and the admin password this
/// process chose for it (handed over as Tao:ClickHouse:EmbeddedHttpPassword): the endpoint accepts no anonymous queries.
/// </summary>
internal sealed record LoopbackStore(int Port, string Password)
{
    public static string User => ClickHouseOptions.DefaultEmbeddedHttpUser;

    /// <summary>A free port and a fresh password.</summary>
    public static LoopbackStore Create() => new(ChildProcess.FreePort(), EmbeddedHttpCredentials.NewPassword());

    /// <summary>The gateway configuration's Tao:ClickHouse section that serves the embedded store here.</summary>
    public JsonObject EmbeddedSection() => new() { ["EmbeddedHttpPort"] = Port, ["EmbeddedHttpPassword"] = Password };

    /// <summary>The Tao:ClickHouse section of a gateway that uses this store as its server, at <paramref name="port"/> (a proxy in front, say).</summary>
    public JsonObject ServerSection(int port) => new() { ["Url"] = $"http://127.0.0.1:{port}", ["Username"] = User, ["Password"] = Password };

    public HttpClient Http(TimeSpan timeout)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}/"), Timeout = timeout };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{User}:{Password}")));
        return http;
    }
}

/// <summary>The embedded engine served by `tao store serve` in its own process, reached through a proxy that can cut it off.</summary>
internal sealed class StoreBehindProxy : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private StoreBehindProxy(ChildProcess process, LoopbackStore store, TcpToggleProxy proxy)
    {
        _process = process;
        Store = store;
        Proxy = proxy;
    }

    /// <summary>The store itself, for checks that must not go through the proxy.</summary>
    public LoopbackStore Store { get; }

    public TcpToggleProxy Proxy { get; }

    /// <summary>The store's own process (tao store serve).</summary>
    public ChildProcess Process => _process;

    public static async Task<StoreBehindProxy> StartAsync(string folder)
    {
        Directory.CreateDirectory(folder);
        var store = LoopbackStore.Create();
        var process = ChildProcess.StartTao(Path.Combine(folder, "store.log"),
            new Dictionary<string, string> { ["Tao__ClickHouse__EmbeddedHttpPassword"] = store.Password },
            "store", "serve", "--port", store.Port.ToString(CultureInfo.InvariantCulture), "--data", Path.Combine(folder, "store"));
        await process.WaitForHttpAsync(new Uri($"http://127.0.0.1:{store.Port}/ping"), TimeSpan.FromSeconds(120));
        return new StoreBehindProxy(process, store, new TcpToggleProxy(ChildProcess.FreePort(), new IPEndPoint(IPAddress.Loopback, store.Port)));
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        await _process.DisposeAsync();
    }
}
