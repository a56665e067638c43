using System.Net;
using System.Text.Json;
using Confluent.Kafka;
using Tao.Bench;

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
    public static async Task<string[]> StoredIdsAsync(int storePort, bool final, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{storePort}/"), Timeout = TimeSpan.FromMinutes(2) };
        using var response = await http.PostAsync("/",
            new StringContent($"SELECT toString(request_id) FROM tao.captures{(final ? " FINAL" : string.Empty)} FORMAT TabSeparated"), cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadAsStringAsync(cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static async Task<long> ScalarAsync(int storePort, string sql, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{storePort}/") };
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

/// <summary>The embedded engine served by `tao store serve` in its own process, reached through a proxy that can cut it off.</summary>
internal sealed class StoreBehindProxy : IAsyncDisposable
{
    private readonly ChildProcess _store;

    private StoreBehindProxy(ChildProcess store, int storePort, TcpToggleProxy proxy)
    {
        _store = store;
        StorePort = storePort;
        Proxy = proxy;
    }

    /// <summary>The store's own port, for checks that must not go through the proxy.</summary>
    public int StorePort { get; }

    public TcpToggleProxy Proxy { get; }

    public static async Task<StoreBehindProxy> StartAsync(string folder)
    {
        var storePort = ChildProcess.FreePort();
        var store = ChildProcess.StartTao(Path.Combine(folder, "store.log"), null, "store", "serve", "--port", storePort.ToString(), "--data", Path.Combine(folder, "store"));
        await store.WaitForHttpAsync(new Uri($"http://127.0.0.1:{storePort}/ping"), TimeSpan.FromSeconds(120));
        return new StoreBehindProxy(store, storePort, new TcpToggleProxy(ChildProcess.FreePort(), new IPEndPoint(IPAddress.Loopback, storePort)));
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        await _store.DisposeAsync();
    }
}
