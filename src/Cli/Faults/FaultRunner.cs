using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tao.Bench;
using Tao.Cli.Benchmarks;

namespace Tao.Cli.Faults;

/// <summary>One scenario's outcome. Missing and duplicates are counted against the requests clients saw answered.</summary>
internal sealed record FaultRow(string Scenario, long Answered, long ClientErrors, long Stored, long Missing, long Duplicates, bool Passed, string Notes);

internal sealed record FaultOptions(TimeSpan Before, TimeSpan Outage, TimeSpan After, double Rate, int Connections);

/// <summary>
/// tao faults: each scenario runs a real gateway process (and a fake upstream, a store process or librdkafka's mock
/// cluster) on loopback, puts it under open-loop load, injects the fault while the load runs, then checks what
/// clients saw against what reached the sink.
/// </summary>
internal sealed class FaultRunner(FaultOptions options, TextWriter output)
{
    private const string AdminKey = "faults-admin-key";
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);
    private const string Topic = "tao.captures";
    private const string Body = """{"model":"fault-model","messages":[{"role":"user","content":"fault injection, please answer"}]}""";
    private readonly string _work = Path.GetFullPath(Path.Combine(".tao", "faults", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
    private Uri _upstream = null!;

    public static IReadOnlyList<string> Scenarios { get; } = ["kafka-down", "store-down", "kill-9", "spool-full", "upstream", "alias-swaps"];

    public async Task<List<FaultRow>> RunAsync(IReadOnlyCollection<string> only, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_work);
        var upstreamPort = ChildProcess.FreePort();
        await using var upstream = ChildProcess.StartTao(Path.Combine(_work, "upstream.log"), null, "fake-upstream", "--port", upstreamPort.ToString());
        _upstream = new Uri($"http://127.0.0.1:{upstreamPort}/");
        await upstream.WaitForHttpAsync(new Uri(_upstream, "/v1/models"), TimeSpan.FromSeconds(60));

        var rows = new List<FaultRow>();
        foreach (var scenario in Scenarios.Where(s => only.Count == 0 || only.Contains(s)))
        {
            output.WriteLine($"  {scenario} ...");
            var stopwatch = Stopwatch.StartNew();
            try
            {
                rows.AddRange(scenario switch
                {
                    "kafka-down" => [await KafkaDownAsync(cancellationToken)],
                    "store-down" => [await StoreDownAsync(cancellationToken)],
                    "kill-9" => [await KillNineAsync(cancellationToken)],
                    "spool-full" => [await SpoolFullAsync(cancellationToken)],
                    "upstream" => await UpstreamAsync(cancellationToken),
                    _ => [await AliasSwapsAsync(cancellationToken)],
                });
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                rows.Add(new FaultRow(scenario, 0, 0, 0, 0, 0, false, $"the scenario failed to run: {e.Message}"));
            }

            output.WriteLine($"    {stopwatch.Elapsed.TotalSeconds:0} s");
        }

        return rows;
    }

    /// <summary>Every broker down for the outage under load: the spool holds the records, the producer resends them after.</summary>
    private async Task<FaultRow> KafkaDownAsync(CancellationToken cancellationToken)
    {
        using var kafka = new KafkaMockCluster();
        kafka.CreateTopic(Topic);
        await using var gateway = await StartGatewayAsync("kafka-down", g => Kafka(g, kafka.BootstrapServers), cancellationToken);
        var load = await LoadWithFaultAsync(gateway.Address, () => kafka.SetAllBrokers(false), () => kafka.SetAllBrokers(true), cancellationToken);
        var drained = await LoopbackChecks.DrainAsync(gateway.Address, AdminKey, TimeSpan.FromMinutes(3), Poll, cancellationToken);
        var (messages, keys) = LoopbackChecks.ConsumeAll(kafka.BootstrapServers, Topic, "faults-verify-" + Guid.NewGuid().ToString("N"), TimeSpan.FromSeconds(3));
        var missing = load.AnsweredRequestIds.Count(id => !keys.Contains(id));
        var duplicates = messages - keys.Count;
        return new FaultRow($"Kafka: all brokers down {options.Outage.TotalSeconds:0} s", load.AnsweredRequestIds.Count, load.Errors, keys.Count, missing, duplicates,
            load.Errors == 0 && missing == 0 && duplicates == 0 && drained,
            $"{messages} messages on the topic; spool drained {(drained ? "yes" : "NO")}");
    }

    /// <summary>The ClickHouse server unreachable (connections cut, new ones refused) under load; replay afterwards.</summary>
    private async Task<FaultRow> StoreDownAsync(CancellationToken cancellationToken)
    {
        await using var store = await StoreBehindProxy.StartAsync(Folder("store-down"));
        var (served, proxy) = (store.Store, store.Proxy);
        await using var gateway = await StartGatewayAsync("store-down", g => ClickHouseServer(g, served, proxy.Port), cancellationToken);
        var load = await LoadWithFaultAsync(gateway.Address, proxy.Down, proxy.Up, cancellationToken);
        var drained = await LoopbackChecks.DrainAsync(gateway.Address, AdminKey, TimeSpan.FromMinutes(3), Poll, cancellationToken);
        var stored = await LoopbackChecks.StoredIdsAsync(served, final: false, cancellationToken);
        var (rows, ids) = ((long)stored.Length, stored.ToHashSet(StringComparer.Ordinal));
        var missing = load.AnsweredRequestIds.Count(id => !ids.Contains(id));
        var final = await LoopbackChecks.ScalarAsync(served, "SELECT count() FROM tao.captures FINAL", cancellationToken);
        return new FaultRow($"ClickHouse unreachable {options.Outage.TotalSeconds:0} s", load.AnsweredRequestIds.Count, load.Errors, ids.Count, missing, final - ids.Count,
            load.Errors == 0 && missing == 0 && final == ids.Count && drained,
            $"{rows} rows before merges ({rows - ids.Count} replayed twice, collapsed by FINAL); spool drained {(drained ? "yes" : "NO")}");
    }

    /// <summary>kill -9 of the gateway under load, then a restart on the same data: every answered call must reach the store.</summary>
    private async Task<FaultRow> KillNineAsync(CancellationToken cancellationToken)
    {
        var folder = Folder("kill-9");
        var store = LoopbackStore.Create();
        var (config, port) = await WriteConfigAsync(folder, g => Embedded(g, store), cancellationToken);
        var gateway = ChildProcess.StartTao(Path.Combine(folder, "gateway.log"), null, "gateway", "--config", config, "--data", folder);
        var address = new Uri($"http://127.0.0.1:{port}/");
        await gateway.WaitForHttpAsync(new Uri(address, "/healthz"), TimeSpan.FromSeconds(120));
        var generator = new LoadGenerator(address, "/v1/chat/completions", Body, new Dictionary<string, string>());

        // The kill comes after `Before` and once a second's worth of calls was answered (a slow or busy machine answers
        // fewer in the same time; the scenario is about a kill under load, not about speed), then the load runs a
        // second more against the dead process.
        var crashed = Task.Run(async () =>
        {
            await Task.Delay(options.Before, cancellationToken);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (generator.Answered < options.Rate && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }

            gateway.Crash();
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }, cancellationToken);
        var load = await generator.RunAsync("kill-9", options.Connections, TimeSpan.FromMinutes(5), TimeSpan.Zero, options.Rate, cancellationToken, until: crashed);
        await crashed;
        await gateway.DisposeAsync();

        await using var restarted = ChildProcess.StartTao(Path.Combine(folder, "gateway-restarted.log"), null, "gateway", "--config", config, "--data", folder);
        await restarted.WaitForHttpAsync(new Uri(address, "/healthz"), TimeSpan.FromSeconds(120));
        var drained = await LoopbackChecks.DrainAsync(address, AdminKey, TimeSpan.FromMinutes(2), Poll, cancellationToken);
        var ids = (await LoopbackChecks.StoredIdsAsync(store, final: false, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var missing = load.AnsweredRequestIds.Count(id => !ids.Contains(id));
        await restarted.StopAsync();
        return new FaultRow("kill -9 of the gateway under load, restart", load.AnsweredRequestIds.Count, 0, ids.Count, missing, 0, missing == 0 && drained,
            $"{load.Errors} calls in flight or sent after the kill failed (expected); spool flush policy Interval (1 s fsync): a process kill loses nothing, " +
            "a power loss up to the last second");
    }

    /// <summary>The sink down and the spool's disk budget exhausted: the proxy keeps serving, drops are counted and visible.</summary>
    private async Task<FaultRow> SpoolFullAsync(CancellationToken cancellationToken)
    {
        await using var store = await StoreBehindProxy.StartAsync(Folder("spool-full"));
        var (served, proxy) = (store.Store, store.Proxy);
        await using var gateway = await StartGatewayAsync("spool-full", g =>
        {
            ClickHouseServer(g, served, proxy.Port);
            var capture = g["Tao"]!["Capture"]!.AsObject();
            capture["Spool"] = new JsonObject { ["MaxBytes"] = 2 * 1024 * 1024, ["SegmentBytes"] = 256 * 1024 };
        }, cancellationToken);
        proxy.Down();
        var outage = options.Before + options.Outage;
        var load = await new LoadGenerator(gateway.Address, "/v1/chat/completions", Body, new Dictionary<string, string>())
            .RunAsync("spool-full", options.Connections, outage, TimeSpan.Zero, options.Rate, cancellationToken);
        var full = await LoopbackChecks.CaptureStateAsync(gateway.Address, AdminKey);
        using var http = new HttpClient { BaseAddress = gateway.Address };
        using var ready = await http.GetAsync("/readyz", cancellationToken);
        var metrics = await http.GetStringAsync("/metrics", cancellationToken);
        proxy.Up();
        var drained = await LoopbackChecks.DrainAsync(gateway.Address, AdminKey, TimeSpan.FromMinutes(3), Poll, cancellationToken);
        var dropped = full.GetProperty("spool").GetProperty("dropped").GetInt64();
        var ids = (await LoopbackChecks.StoredIdsAsync(served, final: false, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var unaccounted = load.AnsweredRequestIds.Count - ids.Count - dropped;
        return new FaultRow("spool disk budget (2 MB) exhausted, sink down", load.AnsweredRequestIds.Count, load.Errors, ids.Count, Math.Max(0, unaccounted), 0,
            load.Errors == 0 && dropped > 0 && unaccounted == 0 && (int)ready.StatusCode == 503
                && metrics.Split('\n').Any(l => l.StartsWith("tao_spool_full", StringComparison.Ordinal) && l.TrimEnd().EndsWith(" 1", StringComparison.Ordinal)) && drained,
            $"{dropped} records dropped and counted (answered = stored + dropped); /readyz {(int)ready.StatusCode} while full; tao_spool_full=1 on /metrics");
    }

    /// <summary>An upstream that stalls, drops the connection, or cuts a stream: clean client errors, flagged records, no hung connections.</summary>
    private async Task<List<FaultRow>> UpstreamAsync(CancellationToken cancellationToken)
    {
        var folder = Folder("upstream");
        var store = LoopbackStore.Create();
        await using var gateway = await StartGatewayAsync("upstream", g =>
        {
            Embedded(g, store);
            g["ReverseProxy"]!["Clusters"]!["upstream"]!["HttpRequest"] = new JsonObject { ["ActivityTimeout"] = "00:00:01" };
            g["Tao"]!["Telemetry"] = new JsonObject { ["FrameworkMetrics"] = true }; // kestrel_active_connections
        }, cancellationToken);
        var rows = new List<FaultRow>();
        using var http = new HttpClient { BaseAddress = gateway.Address, Timeout = TimeSpan.FromSeconds(30) };
        foreach (var (name, header, stream, expected, flag) in new[]
                 {
                     ("upstream slower than its 1 s timeout", ("x-fake-delay-ms", "3000"), false, 504, "status = 504 AND error_type = 'upstream_timeout'"),
                     ("upstream drops the connection unanswered", ("x-fake-reset", "1"), false, 502, "status = 502"),
                     ("upstream cuts a stream after 3 chunks", ("x-fake-cut-after", "3"), true, 200, "upstream_truncated"),
                 })
        {
            var since = DateTime.UtcNow.AddSeconds(-1).ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture);
            var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
                {
                    Content = new StringContent(stream ? Body.Replace("\"messages\"", "\"stream\":true,\"messages\"", StringComparison.Ordinal) : Body,
                        System.Text.Encoding.UTF8, "application/json"),
                };
                request.Headers.Add(header.Item1, header.Item2);
                request.Headers.Add("x-fake-words", "30");
                try
                {
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                    var id = response.Headers.TryGetValues(Tao.Capture.TaoHeaders.RequestId, out var ids) ? ids.First() : null;
                    string text;
                    var clean = true;
                    try
                    {
                        text = await response.Content.ReadAsStringAsync(cancellationToken);
                    }
                    catch (HttpRequestException)
                    {
                        text = string.Empty;
                        clean = false; // the stream ended abruptly: what a client must see when the upstream died
                    }

                    return (Status: (int)response.StatusCode, Id: id, Text: text, Clean: clean);
                }
                catch (HttpRequestException)
                {
                    return (Status: 0, Id: (string?)null, Text: string.Empty, Clean: false);
                }
            }));

            await LoopbackChecks.DrainAsync(gateway.Address, AdminKey, TimeSpan.FromMinutes(1), Poll, cancellationToken);
            var flagged = await LoopbackChecks.ScalarAsync(store,
                $"SELECT count() FROM tao.captures FINAL WHERE started_at >= toDateTime64('{since}', 6, 'UTC') AND {flag}", cancellationToken);
            var openAiErrors = results.Count(r => stream
                ? !r.Clean || r.Text.Contains("\"error\"", StringComparison.Ordinal) // the stream failed, or ended with an error event
                : r.Status == expected && r.Text.Contains("\"error\"", StringComparison.Ordinal) && r.Id is not null);
            rows.Add(new FaultRow(name, 0, results.Length - openAiErrors, flagged, Math.Max(0, results.Length - flagged), 0, openAiErrors == results.Length && flagged == results.Length,
                stream
                    ? $"{openAiErrors}/20 streams ended in an error (error event, then the connection cut), none cleanly; {flagged}/20 records flagged upstream_truncated"
                    : $"{openAiErrors}/20 got {expected} with an OpenAI error body and the request id; {flagged}/20 records carry the failure"));
        }

        // No connection is left hanging: Kestrel's open-connection gauge returns to zero once clients are gone.
        http.Dispose();
        var hanging = -1.0;
        var deadline = DateTime.UtcNow.AddSeconds(15);
        using var probe = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { BaseAddress = gateway.Address };
        while (DateTime.UtcNow < deadline)
        {
            probe.DefaultRequestHeaders.ConnectionClose = true;
            var metrics = await probe.GetStringAsync("/metrics", cancellationToken);
            hanging = metrics.Split('\n').Where(l => l.StartsWith("kestrel_active_connections", StringComparison.Ordinal))
                .Select(l => double.Parse(l.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture)).Sum();
            if (hanging <= 1)
            {
                break; // the scrape's own connection
            }

            await Task.Delay(500, cancellationToken);
        }

        rows.Add(new FaultRow("no hung connections after upstream faults", 0, 0, 0, 0, 0, hanging <= 1,
            $"kestrel_active_connections = {hanging} (the probe's own) after clients closed"));
        return rows;
    }

    /// <summary>The alias moved between two versions 20 times under load: no request fails.</summary>
    private async Task<FaultRow> AliasSwapsAsync(CancellationToken cancellationToken)
    {
        var store = LoopbackStore.Create();
        await using var gateway = await StartGatewayAsync("alias-swaps", g => Embedded(g, store), cancellationToken);
        var generator = new LoadGenerator(gateway.Address, "/v1/chat/completions", Body.Replace("fault-model", "fault-alias", StringComparison.Ordinal), new Dictionary<string, string>());
        var duration = TimeSpan.FromSeconds(Math.Max(12, options.Before.TotalSeconds + 2));
        var running = generator.RunAsync("alias-swaps", options.Connections, duration, TimeSpan.Zero, options.Rate, cancellationToken);
        using var admin = new HttpClient { BaseAddress = gateway.Address };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);
        var swaps = 0;
        await Task.Delay(1000, cancellationToken);
        for (var i = 0; i < 20; i++)
        {
            var target = i % 2 == 0 ? "fault-model-b" : "fault-model";
            using var response = await admin.PutAsync("/admin/aliases/fault-alias",
                new StringContent($$"""{"target":"{{target}}"}""", System.Text.Encoding.UTF8, "application/json"), cancellationToken);
            swaps += response.IsSuccessStatusCode ? 1 : 0;
            await Task.Delay((duration - TimeSpan.FromSeconds(2)) / 20, cancellationToken);
        }

        var load = await running;
        await LoopbackChecks.DrainAsync(gateway.Address, AdminKey, TimeSpan.FromMinutes(1), Poll, cancellationToken);
        var versions = await LoopbackChecks.ScalarAsync(store, "SELECT uniqExact(model) FROM tao.captures", cancellationToken);
        return new FaultRow("alias swapped 20 times under load", load.AnsweredRequestIds.Count, load.Errors, 0, 0, 0, load.Errors == 0 && swaps == 20 && versions == 2,
            $"{swaps} swaps applied; both versions served ({versions} models in the records)");
    }

    private async Task<LoadResult> LoadWithFaultAsync(Uri gateway, Action down, Action up, CancellationToken cancellationToken)
    {
        var generator = new LoadGenerator(gateway, "/v1/chat/completions", Body, new Dictionary<string, string>());
        var running = generator.RunAsync("fault", options.Connections, options.Before + options.Outage + options.After, TimeSpan.Zero, options.Rate, cancellationToken);
        await Task.Delay(options.Before, cancellationToken);
        down();
        await Task.Delay(options.Outage, cancellationToken);
        up();
        return await running;
    }

    private sealed class Gateway(ChildProcess process, Uri address) : IAsyncDisposable
    {
        public Uri Address { get; } = address;

        public async ValueTask DisposeAsync()
        {
            await process.StopAsync();
            await process.DisposeAsync();
        }
    }

    private async Task<Gateway> StartGatewayAsync(string name, Action<JsonObject> configure, CancellationToken cancellationToken)
    {
        var folder = Folder(name);
        var (config, port) = await WriteConfigAsync(folder, configure, cancellationToken);
        var process = ChildProcess.StartTao(Path.Combine(folder, "gateway.log"), null, "gateway", "--config", config, "--data", folder);
        var address = new Uri($"http://127.0.0.1:{port}/");
        await process.WaitForHttpAsync(new Uri(address, "/healthz"), TimeSpan.FromSeconds(120));
        return new Gateway(process, address);
    }

    private async Task<(string Path, int Port)> WriteConfigAsync(string folder, Action<JsonObject> configure, CancellationToken cancellationToken)
    {
        var port = ChildProcess.FreePort();
        var config = new JsonObject
        {
            ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } },
            ["Tao"] = new JsonObject
            {
                // No warm-up: the faults are about what survives, not speed, and the table restarts gateways often.
                ["Gateway"] = new JsonObject { ["Urls"] = $"http://127.0.0.1:{port}", ["InstanceId"] = "faults", ["StateSyncSeconds"] = 0, ["WarmUpSeconds"] = 0 },
                ["Auth"] = new JsonObject { ["AllowAnonymous"] = true, ["AdminKey"] = AdminKey },
                ["Capture"] = new JsonObject { ["ClickHouse"] = new JsonObject { ["Enabled"] = true }, ["Kafka"] = new JsonObject { ["Enabled"] = false } },
                ["Models"] = new JsonObject
                {
                    ["fault-model"] = new JsonObject { ["Cluster"] = "upstream", ["Version"] = "a" },
                    ["fault-model-b"] = new JsonObject { ["Cluster"] = "upstream", ["Version"] = "b" },
                },
                ["Aliases"] = new JsonObject { ["fault-alias"] = "fault-model" },
            },
            ["ReverseProxy"] = new JsonObject
            {
                ["Clusters"] = new JsonObject
                {
                    ["upstream"] = new JsonObject { ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = _upstream.ToString() } } },
                },
            },
        };
        configure(config);
        var path = Path.Combine(folder, "tao.json");
        await File.WriteAllTextAsync(path, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken);
        return (path, port);
    }

    private static void Kafka(JsonObject config, string bootstrap)
    {
        var capture = config["Tao"]!["Capture"]!.AsObject();
        capture["ClickHouse"] = new JsonObject { ["Enabled"] = false };
        capture["Kafka"] = new JsonObject { ["Enabled"] = true, ["BootstrapServers"] = bootstrap, ["Topic"] = Topic };
    }

    /// <summary>The gateway's embedded store served on <paramref name="store"/>'s port, with its password, for the checks.</summary>
    private static void Embedded(JsonObject config, LoopbackStore store) =>
        config["Tao"]!["ClickHouse"] = store.EmbeddedSection();

    /// <summary>The gateway writes to <paramref name="store"/> (served by `tao store serve`) as a server at <paramref name="port"/>.</summary>
    private static void ClickHouseServer(JsonObject config, LoopbackStore store, int port)
    {
        var section = store.ServerSection(port);
        section["QueryTimeoutSeconds"] = 5;
        config["Tao"]!["ClickHouse"] = section;
    }

    private string Folder(string name)
    {
        var folder = Path.Combine(_work, name);
        Directory.CreateDirectory(folder);
        return folder;
    }
}
