using System.Text.Json;
using System.Text.Json.Nodes;
using Tao.Bench;

namespace Tao.Cli.Benchmarks;

/// <summary>
/// tao bench gateway: the same load, in one invocation, against the fake upstream directly, through nginx
/// (proxy_pass), through YARP alone (the runtime's floor), and through the gateway with capture off, capture into
/// the embedded store, and capture into Kafka (librdkafka's mock cluster). Every server is its own process; load
/// comes from wrk (closed loop, for throughput) and from an open-loop client at a fixed rate (for added latency below
/// saturation, streaming time to first byte through Chat Completions and through the Responses API, and the check that
/// every answered call was captured).
/// </summary>
internal sealed class GatewayBenchmark(GatewayBenchmarkOptions options, TextWriter output)
{
    private const string Body = """{"model":"bench-model","messages":[{"role":"user","content":"hello benchmark, please answer"}]}""";
    private const string StreamBody = """{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"hello benchmark, please stream"}]}""";
    private const string ResponsesStreamBody = """{"model":"bench-model","stream":true,"instructions":"Be brief.","input":"hello benchmark, please stream"}""";
    private const string AdminKey = "bench-admin-key";
    private const string Topic = "tao.captures";
    public const string YarpBaselineName = "YARP alone (no Tao pipeline)";

    public async Task<GatewayBenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        var work = Path.GetFullPath(Path.Combine(".tao", "bench", "gateway-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
        Directory.CreateDirectory(work);
        var report = new GatewayBenchmarkReport(work, options);
        var upstreamPort = ChildProcess.FreePort();
        await using var upstream = ChildProcess.StartTao(Path.Combine(work, "upstream.log"), null, "fake-upstream", "--port", upstreamPort.ToString());
        var upstreamUri = new Uri($"http://127.0.0.1:{upstreamPort}/");
        await upstream.WaitForHttpAsync(new Uri(upstreamUri, "/v1/models"), TimeSpan.FromSeconds(60));

        if (options.FakeUpstream)
        {
            await FakeUpstreamAsync(report, work, upstreamUri, cancellationToken);
        }

        if (options.StaticUpstream)
        {
            await StaticUpstreamAsync(report, work, cancellationToken);
        }

        if (options.FakeUpstream)
        {
            await PipelineAsync(report, work, upstreamUri, cancellationToken);
        }

        if (options.Soak > TimeSpan.Zero)
        {
            await SoakAsync(report, work, upstreamUri, cancellationToken);
        }

        return report;
    }

    /// <summary>Every row against Tao's fake upstream: throughput, added latency, streaming, and the capture check.</summary>
    private async Task FakeUpstreamAsync(GatewayBenchmarkReport report, string work, Uri upstreamUri, CancellationToken cancellationToken)
    {
        await MeasureAsync(report, new Target("direct", upstreamUri, null), work, cancellationToken);
        if (NginxProxy.Binary is not null)
        {
            var port = ChildProcess.FreePort();
            await using var nginx = await NginxProxy.StartAsync(Path.Combine(work, "nginx"), port, upstreamUri);
            await MeasureAsync(report, new Target("nginx proxy_pass", new Uri($"http://127.0.0.1:{port}/"), nginx), work, cancellationToken);
        }
        else
        {
            output.WriteLine("  nginx is not installed: skipping the nginx baseline (apt-get install nginx)");
        }

        var yarpPort = ChildProcess.FreePort();
        await using (var yarp = ChildProcess.StartTao(Path.Combine(work, "yarp-baseline.log"), null, YarpBaseline.CommandName,
            "--port", yarpPort.ToString(), "--upstream", upstreamUri.ToString()))
        {
            var address = new Uri($"http://127.0.0.1:{yarpPort}/");
            await yarp.WaitForHttpAsync(new Uri(address, "/v1/models"), TimeSpan.FromSeconds(60));
            await MeasureAsync(report, new Target(YarpBaselineName, address, yarp), work, cancellationToken);
            await yarp.StopAsync();
        }

        // A named peer beside nginx: Portkey's open-source gateway, in front of the same upstream.
        if (await PortkeyGateway.EnsureInstalledAsync(output, cancellationToken) is { } why)
        {
            output.WriteLine($"  skipping {PortkeyGateway.Name}: {why}");
        }
        else
        {
            var port = ChildProcess.FreePort();
            await using var portkey = await PortkeyGateway.StartAsync(Path.Combine(work, "portkey"), port);
            var target = new Target(PortkeyGateway.Name, new Uri($"http://127.0.0.1:{port}/"), portkey) { Headers = PortkeyGateway.Headers(upstreamUri), Peer = true };
            await MeasureAsync(report, target, work, cancellationToken);
            await portkey.StopAsync();
        }

        await WithGatewayAsync(report, CaptureOffName, work, upstreamUri, Capture.Off, null, cancellationToken);
        await WithGatewayAsync(report, CaptureEmbeddedName, work, upstreamUri, Capture.Embedded, null, cancellationToken);
        using (var kafka = new KafkaMockCluster())
        {
            kafka.CreateTopic(Topic);
            await WithGatewayAsync(report, "tao, capture to Kafka", work, upstreamUri, Capture.Kafka, kafka, cancellationToken);
        }
    }

    /// <summary>
    /// Sink capacity: with the sink unreachable, load fills the spool; then the sink comes back and the backlog's
    /// drain time gives records/s the sink path sustains. The spool grows whenever captured records/s exceed it.
    /// </summary>
    private async Task PipelineAsync(GatewayBenchmarkReport report, string work, Uri upstream, CancellationToken cancellationToken)
    {
        var fill = options.Duration;
        using (var kafka = new KafkaMockCluster())
        {
            kafka.CreateTopic(Topic);
            output.WriteLine("  capture pipeline: Kafka backlog drain ...");
            report.Pipeline.Add(await DrainBacklogAsync("Kafka (librdkafka mock cluster, 3 brokers)", work, upstream, Capture.Kafka, kafka.BootstrapServers, null,
                () => kafka.SetAllBrokers(false), () => kafka.SetAllBrokers(true), fill, cancellationToken));
        }

        var storeFolder = Path.Combine(work, "pipeline-store");
        Directory.CreateDirectory(storeFolder);
        await using var store = await StoreBehindProxy.StartAsync(storeFolder);
        var proxy = store.Proxy;
        output.WriteLine("  capture pipeline: ClickHouse backlog drain ...");
        report.Pipeline.Add(await DrainBacklogAsync("ClickHouse (chDB served over loopback HTTP)", work, upstream, Capture.Server, null, (store.Store, proxy.Port),
            proxy.Down, proxy.Up, fill, cancellationToken));
    }

    private async Task<PipelineRow> DrainBacklogAsync(string name, string work, Uri upstream, Capture capture, string? kafka, (LoopbackStore Store, int Port)? server,
        Action down, Action up, TimeSpan fill, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(work, "pipeline-" + (capture == Capture.Kafka ? "kafka" : "clickhouse"));
        var (gateway, address, _) = await StartGatewayAsync(folder, port => GatewayConfig(port, LoopbackStore.Create(), upstream, capture, kafka, server), cancellationToken);
        await using var running = gateway;
        down();
        var headers = new Dictionary<string, string> { ["x-fake-words"] = options.Words.ToString() };
        var load = await new LoadGenerator(address, "/v1/chat/completions", Body, headers).RunAsync(name, 64, fill, TimeSpan.Zero, null, cancellationToken);
        var before = await CaptureStateAsync(address);
        up();
        // The shipper retries a failed sink with back-off; the drain is timed from its first success after the outage.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((await CaptureStateAsync(address)).Delivered == before.Delivered && waited.Elapsed < TimeSpan.FromMinutes(2))
        {
            await Task.Delay(5, cancellationToken);
        }

        var first = await CaptureStateAsync(address);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await CaptureStateAsync(address)).Lag > 0 && clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(20, cancellationToken);
        }

        var after = await CaptureStateAsync(address);
        before = first; // records delivered by the first batch are not part of the timed drain
        await gateway.StopAsync();
        return new PipelineRow(name, load.RequestsPerSecond, after.Delivered - before.Delivered, clock.Elapsed);
    }

    /// <summary>
    /// The static-upstream mode: nginx answering every call with a fixed chat completion (return 200), so what the load
    /// measures is each proxy's own cost. Closed loop at <see cref="GatewayBenchmarkOptions.StaticConnections"/>
    /// connections after each process's warm-up, with its CPU, resident memory (all of it, and its own anonymous part),
    /// and for Tao the managed heap after the last collection; then a fresh gateway's first 30 seconds under the same load.
    /// </summary>
    private async Task StaticUpstreamAsync(GatewayBenchmarkReport report, string work, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(work, "static");
        if (NginxProxy.Binary is null)
        {
            output.WriteLine("  nginx is not installed: skipping the static-upstream mode (apt-get install nginx)");
            return;
        }

        var upstreamPort = ChildProcess.FreePort();
        await using var upstream = await NginxProxy.StartStaticAsync(Path.Combine(folder, "upstream"), upstreamPort);
        var upstreamUri = new Uri($"http://127.0.0.1:{upstreamPort}/");
        output.WriteLine($"  static upstream (nginx return 200) on {upstreamUri}");
        await StaticRowAsync(report, new Target("direct", upstreamUri, null), folder, cancellationToken);

        var nginxPort = ChildProcess.FreePort();
        await using (var nginx = await NginxProxy.StartAsync(Path.Combine(folder, "nginx"), nginxPort, upstreamUri))
        {
            await StaticRowAsync(report, new Target("nginx proxy_pass", new Uri($"http://127.0.0.1:{nginxPort}/"), nginx), folder, cancellationToken);
        }

        if (await PortkeyGateway.EnsureInstalledAsync(output, cancellationToken) is null)
        {
            var port = ChildProcess.FreePort();
            await using var portkey = await PortkeyGateway.StartAsync(Path.Combine(folder, "portkey"), port);
            var target = new Target(PortkeyGateway.Name, new Uri($"http://127.0.0.1:{port}/"), portkey) { Headers = PortkeyGateway.Headers(upstreamUri), Peer = true };
            await StaticRowAsync(report, target, folder, cancellationToken);
            await portkey.StopAsync();
        }

        // The gateway as `tao gateway` runs it (JIT), then as the native executable (tao-gateway, Native AOT) when published.
        var native = File.Exists(NativeGatewayPath) ? NativeGatewayPath : null;
        if (native is null)
        {
            output.WriteLine($"  static upstream: no native gateway at {NativeGatewayPath} (./tao bench publishes it); its rows are left out");
        }

        foreach (var program in native is null ? new string?[] { null } : [null, native])
        {
            await StaticGatewayAsync(report, RowName(program, CaptureOffName), folder, upstreamUri, Capture.Off, null, program, cancellationToken);
            await StaticGatewayAsync(report, RowName(program, CaptureEmbeddedName), folder, upstreamUri, Capture.Embedded, null, program, cancellationToken);
            await using (var store = await StoreBehindProxy.StartAsync(Path.Combine(folder, program is null ? "store-process" : "store-process-native")))
            {
                await StaticGatewayAsync(report, RowName(program, CaptureStoreProcessName), folder, upstreamUri, Capture.Server, store, program, cancellationToken);
            }
        }

        // A new JIT process with its default warm-up and with none; a new native one with none (it has no JIT to warm).
        var starts = new List<(double? WarmUp, string? Program)> { (null, null), (0, null) };
        if (native is not null)
        {
            starts.Add((0, native));
        }

        foreach (var (warmUp, program) in starts)
        {
            if (await ColdStartAsync(folder, upstreamUri, warmUp, program, cancellationToken) is { } cold)
            {
                report.ColdStarts.Add(cold);
            }
        }
    }

    public const string CaptureOffName = "tao, capture off";
    public const string CaptureEmbeddedName = "tao, capture to embedded ClickHouse";
    public const string CaptureStoreProcessName = "tao, capture to a store process (tao store serve)";

    /// <summary>How the native gateway's rows and cold starts are named.</summary>
    public const string NativeLabel = "tao-gateway (native)";

    /// <summary>What a row of the native gateway is called: its JIT row's name with "tao" as <see cref="NativeLabel"/>.</summary>
    public static string NativeName(string name) => NativeLabel + name["tao".Length..];

    private static string RowName(string? program, string name) => program is null ? name : NativeName(name);

    /// <summary>
    /// The native gateway: beside this CLI (the container image puts both in /opt/tao), else where `./tao test` and
    /// `./tao bench` publish it, artifacts/publish/tao-gateway beside this CLI's artifacts/bin.
    /// </summary>
    public static string NativeGatewayPath { get; } = ExistingOr(
        Path.Combine(AppContext.BaseDirectory, "tao-gateway"),
        Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "publish", "tao-gateway", "tao-gateway")));

    private static string ExistingOr(string path, string otherwise) => File.Exists(path) ? path : otherwise;

    private async Task StaticGatewayAsync(GatewayBenchmarkReport report, string name, string work, Uri upstream, Capture capture,
        StoreBehindProxy? storeProcess, string? program, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(work, name.Replace(", ", "-").Replace(' ', '-').Replace("(", string.Empty).Replace(")", string.Empty));
        var server = storeProcess is null ? ((LoopbackStore, int)?)null : (storeProcess.Store, storeProcess.Store.Port);
        var (gateway, address, _) = await StartGatewayAsync(folder, port => GatewayConfig(port, LoopbackStore.Create(), upstream, capture, null, server),
            cancellationToken, program: program);
        await using var running = gateway;
        await StaticRowAsync(report, new Target(name, address, gateway) { Capture = capture, StoreProcess = storeProcess?.Process }, folder, cancellationToken);
        await gateway.StopAsync();
    }

    private async Task StaticRowAsync(GatewayBenchmarkReport report, Target target, string folder, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var headers = target.With([]);
        if (options.ProcessWarmup > TimeSpan.Zero)
        {
            output.WriteLine($"  static upstream, {target.Name}: warming the process up for {options.ProcessWarmup.TotalSeconds:0} s ...");
            await ClosedLoopAsync(target, headers, options.StaticConnections, TimeSpan.Zero, options.ProcessWarmup, folder, cancellationToken);
        }

        output.WriteLine($"  static upstream, {target.Name}: throughput at {options.StaticConnections} connections ...");
        var cpu0 = target.Process?.CpuSeconds ?? 0;
        var storeCpu0 = target.StoreProcess?.CpuSeconds ?? 0;
        var run = await ClosedLoopAsync(target, headers, options.StaticConnections, options.Warmup, options.Duration, folder, cancellationToken);
        var seconds = (run.Duration + options.Warmup).TotalSeconds;
        report.Static.Add(new StaticRow(target.Name, run)
        {
            ProxyCores = target.Process is null ? null : (target.Process.CpuSeconds - cpu0) / seconds,
            ResidentBytes = target.Process?.ResidentBytes,
            AnonymousResidentBytes = target.Process?.AnonymousResidentBytes,
            ManagedHeapBytes = target.Capture is null ? null : await ManagedHeapAsync(target.Address),
            StoreCores = target.StoreProcess is null ? null : (target.StoreProcess.CpuSeconds - storeCpu0) / seconds,
            StoreResidentBytes = target.StoreProcess?.ResidentBytes,
        });
    }

    /// <summary>
    /// A new gateway process (capture to the embedded store) under the static-upstream load from the moment /healthz
    /// answers: wrk in one-second windows for 30 s. Each window opens its connections afresh, as a new replica's
    /// clients do. <paramref name="warmUpSeconds"/>: the gateway's warm-up before it listens (null: its default).
    /// </summary>
    private async Task<ColdStart?> ColdStartAsync(string work, Uri upstream, double? warmUpSeconds, string? program, CancellationToken cancellationToken)
    {
        if (!WrkRunner.Available)
        {
            return null;
        }

        var folder = Path.Combine(work, (warmUpSeconds is null ? "cold-start" : $"cold-start-warm-up-{warmUpSeconds}") + (program is null ? "" : "-native"));
        var warmUp = warmUpSeconds ?? new Gateway.Settings.GatewayOptions().WarmUpSeconds;
        output.WriteLine($"  static upstream, cold start (warm-up {warmUp} s{(program is null ? "" : ", native")}): a new gateway (capture to the embedded store) " +
                         $"under load for its first {ColdStartSeconds} s ...");
        var (gateway, address, started) = await StartGatewayAsync(folder, port =>
        {
            var config = GatewayConfig(port, LoopbackStore.Create(), upstream, Capture.Embedded, null);
            if (warmUpSeconds is { } seconds)
            {
                config["Tao"]!["Gateway"]!["WarmUpSeconds"] = seconds;
            }

            return config;
        }, cancellationToken, TimeSpan.FromMilliseconds(20), program);
        await using var running = gateway;
        var windows = new List<double>();
        for (var second = 0; second < ColdStartSeconds; second++)
        {
            var window = await WrkRunner.RunAsync("cold start", address, "/v1/chat/completions", Body, new Dictionary<string, string>(),
                options.StaticConnections, TimeSpan.FromSeconds(1), folder, cancellationToken);
            windows.Add(window.RequestsPerSecond);
        }

        await gateway.StopAsync();
        return new ColdStart(warmUp, started, windows) { Native = program is not null };
    }

    public const int ColdStartSeconds = 30;

    /// <summary>The managed heap's size after the last collection, from the gateway's Prometheus endpoint.</summary>
    private static async Task<long?> ManagedHeapAsync(Uri gateway)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            var text = await http.GetStringAsync(new Uri(gateway, "/metrics"));
            long total = 0;
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith("dotnet_gc_last_collection_heap_size_bytes{", StringComparison.Ordinal))
                {
                    total += (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            return total;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>
    /// Capture on, fixed rate, for the soak duration, the gateway's resident memory every 10 s: first `tao gateway` with
    /// the embedded store (what `tao up` runs), then, when published, the native gateway with the store in its own process
    /// (what the containers run, beside a ClickHouse server), the store's memory sampled apart.
    /// </summary>
    private async Task SoakAsync(GatewayBenchmarkReport report, string work, Uri upstream, CancellationToken cancellationToken)
    {
        report.Soaks.Add(await SoakOnceAsync(SoakEmbeddedName, Path.Combine(work, "soak"), upstream, null, null, cancellationToken));
        if (File.Exists(NativeGatewayPath))
        {
            await using var store = await StoreBehindProxy.StartAsync(Path.Combine(work, "soak-native-store-process"));
            report.Soaks.Add(await SoakOnceAsync(NativeName(CaptureStoreProcessName), Path.Combine(work, "soak-native"), upstream, store, NativeGatewayPath,
                cancellationToken));
        }
    }

    public const string SoakEmbeddedName = "tao, capture to the embedded store";

    private async Task<SoakRun> SoakOnceAsync(string name, string folder, Uri upstream, StoreBehindProxy? store, string? program,
        CancellationToken cancellationToken)
    {
        var server = store is null ? ((LoopbackStore, int)?)null : (store.Store, store.Store.Port);
        var (gateway, address, _) = await StartGatewayAsync(folder,
            port => GatewayConfig(port, LoopbackStore.Create(), upstream, store is null ? Capture.Embedded : Capture.Server, null, server), cancellationToken,
            program: program);
        await using var process = gateway;
        output.WriteLine($"  soak: {name} at {options.Rate:0} requests/s for {options.Soak.TotalMinutes:0.#} min ...");
        var headers = new Dictionary<string, string> { ["x-fake-words"] = options.Words.ToString() };
        var running = new LoadGenerator(address, "/v1/chat/completions", Body, headers)
            .RunAsync("soak", options.LatencyConnections, options.Soak, TimeSpan.Zero, options.Rate, cancellationToken);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var samples = new List<SoakSample>();
        void Sample() => samples.Add(new SoakSample(clock.Elapsed, gateway.ResidentBytes / 1048576.0, store?.Process.ResidentBytes / 1048576.0));
        while (!running.IsCompleted)
        {
            Sample();
            await Task.WhenAny(running, Task.Delay(TimeSpan.FromSeconds(10), cancellationToken));
        }

        var load = await running;
        Sample();
        await gateway.StopAsync();
        return new SoakRun(name, samples, load);
    }

    private async Task WithGatewayAsync(GatewayBenchmarkReport report, string name, string work, Uri upstream, Capture capture,
        KafkaMockCluster? kafka, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(work, name.Replace(", ", "-").Replace(' ', '-'));
        var store = LoopbackStore.Create();
        var (gateway, address, _) = await StartGatewayAsync(folder, port => GatewayConfig(port, store, upstream, capture, kafka?.BootstrapServers), cancellationToken);
        await using var running = gateway;
        var target = new Target(name, address, gateway)
        {
            Capture = capture,
            Store = capture == Capture.Embedded ? store : null,
            Kafka = kafka,
        };
        await MeasureAsync(report, target, folder, cancellationToken);
        await gateway.StopAsync();
    }

    private async Task MeasureAsync(GatewayBenchmarkReport report, Target target, string folder, CancellationToken cancellationToken)
    {
        var headers = target.With(new Dictionary<string, string> { ["x-fake-words"] = options.Words.ToString() });
        var answered = new List<string>();
        if (options.ProcessWarmup > TimeSpan.Zero)
        {
            // .NET starts in quick, then instrumented code and recompiles hot methods with profile guidance; under load
            // that takes ~25 s for the capture path. A gateway serves for hours, so it is measured after that, not during.
            output.WriteLine($"  {target.Name}: warming the process up for {options.ProcessWarmup.TotalSeconds:0} s ...");
            await ClosedLoopAsync(target, headers, 64, TimeSpan.Zero, options.ProcessWarmup, folder, cancellationToken);
        }

        foreach (var connections in options.Connections)
        {
            output.WriteLine($"  {target.Name}: throughput at {connections} connections ...");
            var delivered0 = await DeliveredAsync(target);
            var cpu0 = target.Process?.CpuSeconds ?? 0;
            var run = await ClosedLoopAsync(target, headers, connections, options.Warmup, options.Duration, folder, cancellationToken);
            var cores = target.Process is null ? (double?)null : (target.Process.CpuSeconds - cpu0) / (run.Duration + options.Warmup).TotalSeconds;
            var shipped = target.Capture is Capture.Embedded or Capture.Kafka
                ? (await DeliveredAsync(target) - delivered0) / (run.Duration + options.Warmup).TotalSeconds
                : (double?)null;
            report.Throughput.Add(new ThroughputRow(target.Name, run, cores, target.Process?.ResidentBytes, shipped));
        }

        output.WriteLine($"  {target.Name}: latency at {options.Rate} requests/s over {options.LatencyConnections} connections ...");
        var fixedRate = await new LoadGenerator(target.Address, "/v1/chat/completions", Body, headers)
            .RunAsync(target.Name, options.LatencyConnections, options.Duration, options.Warmup, options.Rate, cancellationToken);
        answered.AddRange(fixedRate.AnsweredRequestIds);
        report.Latency.Add(fixedRate);

        if (target.Peer)
        {
            // Portkey 1.15.2 answers every streamed call through a custom host with {"status":"failure"} (its log:
            // "tryTargetsRecursively error: immutable"), so the peer has throughput and latency rows only.
            output.WriteLine($"  {target.Name}: not measured streaming (it fails every streamed call through a custom host)");
        }
        else if (target.Capture is null or Capture.Embedded)
        {
            output.WriteLine($"  {target.Name}: streaming time to first byte ...");
            var streaming = await new LoadGenerator(target.Address, "/v1/chat/completions", StreamBody, new Dictionary<string, string> { ["x-fake-words"] = "20" })
                .RunAsync(target.Name, options.LatencyConnections, options.Duration, options.Warmup, options.Rate, cancellationToken);
            answered.AddRange(streaming.AnsweredRequestIds);
            report.Streaming.Add(streaming);

            // The Responses API's typed event stream: more, larger events per answer, and its own reassembly in the capture.
            output.WriteLine($"  {target.Name}: streaming time to first byte, Responses API ...");
            var responses = await new LoadGenerator(target.Address, "/v1/responses", ResponsesStreamBody, new Dictionary<string, string> { ["x-fake-words"] = "20" })
                .RunAsync(target.Name, options.LatencyConnections, options.Duration, options.Warmup, options.Rate, cancellationToken);
            answered.AddRange(responses.AnsweredRequestIds);
            report.ResponsesStreaming.Add(responses);
        }

        if (target.Capture is Capture.Embedded or Capture.Kafka)
        {
            report.CaptureChecks.Add(await CheckCaptureAsync(target, answered, cancellationToken));
        }
    }

    private static async Task<LoadResult> ClosedLoopAsync(Target target, Dictionary<string, string> headers, int connections,
        TimeSpan warmup, TimeSpan duration, string folder, CancellationToken cancellationToken)
    {
        if (WrkRunner.Available)
        {
            if (warmup > TimeSpan.Zero)
            {
                await WrkRunner.RunAsync(target.Name, target.Address, "/v1/chat/completions", Body, headers, connections, warmup, folder, cancellationToken);
            }

            return await WrkRunner.RunAsync(target.Name, target.Address, "/v1/chat/completions", Body, headers, connections, duration, folder, cancellationToken);
        }

        return await new LoadGenerator(target.Address, "/v1/chat/completions", Body, headers)
            .RunAsync(target.Name, connections, duration, warmup, null, cancellationToken);
    }

    private async Task<CaptureCheck> CheckCaptureAsync(Target target, List<string> answered, CancellationToken cancellationToken)
    {
        var drainStart = DateTime.UtcNow;
        await LoopbackChecks.DrainAsync(target.Address, AdminKey, TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(100), cancellationToken);
        var drain = DateTime.UtcNow - drainStart;
        var stored = target.Store is { } store
            ? (await LoopbackChecks.StoredIdsAsync(store, final: true, cancellationToken)).ToHashSet(StringComparer.Ordinal)
            : LoopbackChecks.ConsumeAll(target.Kafka!.BootstrapServers, Topic, "bench-verify", TimeSpan.FromSeconds(2)).Keys;
        var missing = answered.Count(id => !stored.Contains(id));
        return new CaptureCheck(target.Name, answered.Count, stored.Count, missing, drain);
    }

    /// <summary>
    /// A gateway process on a free port, its configuration (<paramref name="config"/> of the port) written into
    /// <paramref name="folder"/>, started and answering /healthz; with how long that took from its start.
    /// </summary>
    private static async Task<(ChildProcess Gateway, Uri Address, TimeSpan Healthy)> StartGatewayAsync(string folder, Func<int, JsonObject> config,
        CancellationToken cancellationToken, TimeSpan? poll = null, string? program = null)
    {
        Directory.CreateDirectory(folder);
        var port = ChildProcess.FreePort();
        var configPath = Path.Combine(folder, "tao.json");
        await File.WriteAllTextAsync(configPath, config(port).ToJsonString(new JsonSerializerOptions { WriteIndented = true }), cancellationToken);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var gateway = program is null
            ? ChildProcess.StartTao(Path.Combine(folder, "gateway.log"), null, "gateway", "--config", configPath, "--data", folder)
            : ChildProcess.Start(program, ["--config", configPath, "--data", folder], Path.Combine(folder, "gateway.log"));
        var address = new Uri($"http://127.0.0.1:{port}/");
        try
        {
            await gateway.WaitForHttpAsync(new Uri(address, "/healthz"), TimeSpan.FromSeconds(120), poll);
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }

        return (gateway, address, clock.Elapsed);
    }

    /// <summary>The gateway's configuration; <paramref name="server"/>: a store served over HTTP instead of the embedded one.</summary>
    private static JsonObject GatewayConfig(int port, LoopbackStore store, Uri upstream, Capture capture, string? kafka,
        (LoopbackStore Store, int Port)? server = null) => new()
    {
        ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Warning" } },
        ["Tao"] = new JsonObject
        {
            ["Gateway"] = new JsonObject { ["Urls"] = $"http://127.0.0.1:{port}", ["InstanceId"] = "bench" },
            ["Auth"] = new JsonObject { ["AllowAnonymous"] = true, ["AdminKey"] = AdminKey },
            ["Capture"] = new JsonObject
            {
                ["Enabled"] = capture != Capture.Off,
                ["ClickHouse"] = new JsonObject { ["Enabled"] = capture is Capture.Embedded or Capture.Server },
                ["Kafka"] = new JsonObject { ["Enabled"] = capture == Capture.Kafka, ["BootstrapServers"] = kafka ?? string.Empty, ["Topic"] = Topic },
            },
            ["ClickHouse"] = server is { } served ? served.Store.ServerSection(served.Port) : store.EmbeddedSection(),
            ["Models"] = new JsonObject { ["bench-model"] = new JsonObject { ["Cluster"] = "upstream" } },
        },
        ["ReverseProxy"] = new JsonObject
        {
            ["Clusters"] = new JsonObject
            {
                ["upstream"] = new JsonObject { ["Destinations"] = new JsonObject { ["d1"] = new JsonObject { ["Address"] = upstream.ToString() } } },
            },
        },
    };

    private static async Task<long> DeliveredAsync(Target target) =>
        target.Capture is Capture.Embedded or Capture.Kafka ? (await CaptureStateAsync(target.Address)).Delivered : 0;

    private static async Task<(long Delivered, long Lag)> CaptureStateAsync(Uri gateway)
    {
        var sink = (await LoopbackChecks.CaptureStateAsync(gateway, AdminKey)).GetProperty("sinks").EnumerateArray().First();
        return (sink.GetProperty("delivered").GetInt64(), sink.GetProperty("lag_bytes").GetInt64());
    }

    private enum Capture
    {
        Off,
        Embedded,
        Kafka,
        Server,
    }

    private sealed record Target(string Name, Uri Address, ChildProcess? Process)
    {
        /// <summary>Headers every call to this target carries besides the fake upstream's (a peer's routing headers).</summary>
        public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

        /// <summary>Another product's gateway, not Tao: measured on non-streamed chat only.</summary>
        public bool Peer { get; init; }

        public Dictionary<string, string> With(Dictionary<string, string> headers)
        {
            foreach (var (name, value) in Headers)
            {
                headers[name] = value;
            }

            return headers;
        }

        public Capture? Capture { get; init; }
        public ChildProcess? StoreProcess { get; init; }
        public LoopbackStore? Store { get; init; }
        public KafkaMockCluster? Kafka { get; init; }
    }
}

internal sealed record GatewayBenchmarkOptions(
    IReadOnlyList<int> Connections, TimeSpan Duration, TimeSpan Warmup, int Words, double Rate, int LatencyConnections)
{
    public TimeSpan Soak { get; init; }

    /// <summary>Load each server process takes once, before its first measured run.</summary>
    public TimeSpan ProcessWarmup { get; init; }

    /// <summary>Measure the rows against Tao's fake upstream, with the sink pipeline's capacity. Default: on.</summary>
    public bool FakeUpstream { get; init; } = true;

    /// <summary>Also measure against a static upstream (nginx return 200), with the cold start. Default: on.</summary>
    public bool StaticUpstream { get; init; } = true;

    /// <summary>Connections of the static-upstream mode's closed loop. Default: 64.</summary>
    public int StaticConnections { get; init; } = 64;
}

/// <summary>One proxy against the static upstream: throughput and what it cost in CPU and memory.</summary>
internal sealed record StaticRow(string Name, LoadResult Load)
{
    public double? ProxyCores { get; init; }
    public long? ResidentBytes { get; init; }
    public long? AnonymousResidentBytes { get; init; }
    public long? ManagedHeapBytes { get; init; }
    public double? StoreCores { get; init; }
    public long? StoreResidentBytes { get; init; }
}

/// <summary>A new gateway's throughput in each of its first seconds under load, how long it took to answer /healthz, and its warm-up.</summary>
internal sealed record ColdStart(double WarmUpSeconds, TimeSpan Healthy, IReadOnlyList<double> PerSecond)
{
    /// <summary>The native gateway (tao-gateway), not `tao gateway`.</summary>
    public bool Native { get; init; }

    /// <summary>Mean requests/s over seconds [from, to) of the load.</summary>
    public double Mean(int from, int to) => PerSecond.Skip(from).Take(to - from).DefaultIfEmpty(0).Average();

    /// <summary>The first second whose window reached <paramref name="share"/> of <paramref name="warm"/> and after which two in three did.</summary>
    public int? SecondsTo(double share, double warm)
    {
        for (var i = 0; i < PerSecond.Count; i++)
        {
            var rest = PerSecond.Skip(i).ToList();
            if (PerSecond[i] >= share * warm && rest.Count(r => r >= share * warm) * 3 >= rest.Count * 2)
            {
                return i + 1;
            }
        }

        return null;
    }
}

/// <summary>A sink path's capacity: the backlog filled while it was down, and how fast it drained once back.</summary>
internal sealed record PipelineRow(string Name, double OfferedPerSecond, long Backlog, TimeSpan Drain)
{
    public double RecordsPerSecond => Backlog / Math.Max(Drain.TotalSeconds, 0.001);
}

internal sealed record ThroughputRow(string Name, LoadResult Load, double? ProxyCores, long? ProxyResidentBytes, double? ShippedPerSecond);

/// <summary>One soak: the gateway's resident memory (and its store process's, when it has one) every 10 s under a fixed rate.</summary>
internal sealed record SoakRun(string Name, IReadOnlyList<SoakSample> Samples, LoadResult Load)
{
    /// <summary>The samples after the first minute, which the drift is read over (the first minute is the process settling).</summary>
    public IReadOnlyList<SoakSample> Settled { get; } = Samples.Where(s => s.At >= TimeSpan.FromSeconds(60)).ToList();

    /// <summary>The least-squares slope of the gateway's RSS after the first minute, in MiB a minute.</summary>
    public double DriftMiBPerMinute => Slope(Settled.Select(s => (s.At.TotalMinutes, s.RssMiB)).ToList());

    /// <summary>The same for the store process, when there is one.</summary>
    public double? StoreDriftMiBPerMinute => Settled.Count >= 2 && Settled.All(s => s.StoreRssMiB is not null)
        ? Slope(Settled.Select(s => (s.At.TotalMinutes, s.StoreRssMiB!.Value)).ToList())
        : null;

    private static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count < 2)
        {
            return double.NaN;
        }

        var meanX = points.Average(p => p.X);
        var meanY = points.Average(p => p.Y);
        var spread = points.Sum(p => (p.X - meanX) * (p.X - meanX));
        return spread == 0 ? double.NaN : points.Sum(p => (p.X - meanX) * (p.Y - meanY)) / spread;
    }
}

internal sealed record SoakSample(TimeSpan At, double RssMiB, double? StoreRssMiB);

internal sealed record CaptureCheck(string Name, int Answered, int Stored, int Missing, TimeSpan DrainAfterLoad);

internal sealed class GatewayBenchmarkReport(string folder, GatewayBenchmarkOptions options)
{
    public string Folder { get; } = folder;
    public GatewayBenchmarkOptions Options { get; } = options;
    public List<ThroughputRow> Throughput { get; } = [];
    public List<LoadResult> Latency { get; } = [];
    public List<LoadResult> Streaming { get; } = [];

    /// <summary>Streamed calls through the Responses API (/v1/responses), same rate and answer length as <see cref="Streaming"/>.</summary>
    public List<LoadResult> ResponsesStreaming { get; } = [];
    public List<CaptureCheck> CaptureChecks { get; } = [];
    public List<PipelineRow> Pipeline { get; } = [];
    public List<SoakRun> Soaks { get; } = [];

    /// <summary>The static-upstream mode's rows (nginx return 200 as the upstream).</summary>
    public List<StaticRow> Static { get; } = [];
    /// <summary>Cold starts with the gateway's default warm-up first, then without one.</summary>
    public List<ColdStart> ColdStarts { get; } = [];
}
