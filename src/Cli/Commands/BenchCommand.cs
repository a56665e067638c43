using System.CommandLine;
using Tao.Cli.Benchmarks;

namespace Tao.Cli.Commands;

/// <summary>tao bench ...: benchmarks are commands that print figures against baselines run in the same invocation.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var connections = new Option<int[]>("--connections")
        {
            Description = "Connection counts for the throughput runs. Default: 16 64.",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [16, 64],
        };
        var duration = new Option<int>("--duration") { Description = "Measured seconds per run. Default: 10.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up seconds before each run (JIT tiering needs it). Default: 5.", DefaultValueFactory = _ => 5 };
        var processWarmup = new Option<int>("--process-warmup")
        {
            Description = "Seconds of load each server process takes once before its first measured run, so the JIT's tiered recompilation is done. Default: 30 (5 with --quick).",
            DefaultValueFactory = _ => 30,
        };
        var words = new Option<int>("--words") { Description = "Words per fake answer. Default: 30.", DefaultValueFactory = _ => 30 };
        var rate = new Option<double>("--rate") { Description = "Requests/s of the fixed-rate latency runs. Default: 1000.", DefaultValueFactory = _ => 1000 };
        var quick = new Option<bool>("--quick") { Description = "Short runs (3 s + 3 s warm-up, 64 connections) to check the setup." };
        var docs = new Option<bool>("--write-docs") { Description = "Also write the report to docs/benchmarks.md." };
        var soak = new Option<int?>("--soak")
        {
            Description = "Seconds of the closing soak (capture on, --rate requests/s) that samples the gateway's memory; 0 skips it. " +
                          "Default: 300 (0 with --quick, unless given).",
        };
        var upstreamMode = new Option<string>("--upstream")
        {
            Description = "Which upstream the rows run against: fake (Tao's fake upstream, answers of --words words), static (nginx return 200 with a " +
                          "fixed answer, plus a new process's cold start), or both. Default: both.",
            DefaultValueFactory = _ => "both",
        };
        upstreamMode.AcceptOnlyFromAmong("fake", "static", "both");
        var gateway = new Command("gateway",
            "Same load against the fake upstream directly, nginx proxy_pass, YARP alone, Portkey's open-source gateway (installed from npm on " +
            "first use), and the gateway with capture off / to the embedded " +
            "store / to Kafka (mock cluster), each its own process, against Tao's fake upstream and against a static one (nginx return 200, " +
            "with a new gateway's cold start). Prints requests/s, latency percentiles, added latency, " +
            "streaming time to first byte (Chat Completions and the Responses API), proxy CPU and memory, captures shipped/s, and checks every answered call was captured; then " +
            "each sink path's capacity (backlog drain) and a memory soak with capture on.")
        {
            connections, duration, warmup, processWarmup, words, rate, quick, docs, soak, upstreamMode,
        };
        gateway.SetAction(async (result, cancellationToken) =>
        {
            var isQuick = result.GetValue(quick);
            var options = new GatewayBenchmarkOptions(
                isQuick ? [64] : result.GetValue(connections)!,
                TimeSpan.FromSeconds(isQuick ? 3 : result.GetValue(duration)),
                TimeSpan.FromSeconds(isQuick ? 3 : result.GetValue(warmup)),
                result.GetValue(words), result.GetValue(rate), 64)
            {
                Soak = TimeSpan.FromSeconds(result.GetValue(soak) ?? (isQuick ? 0 : 300)),
                ProcessWarmup = TimeSpan.FromSeconds(isQuick ? 5 : result.GetValue(processWarmup)),
                FakeUpstream = result.GetValue(upstreamMode) != "static",
                StaticUpstream = result.GetValue(upstreamMode) != "fake",
            };
            Console.WriteLine("running gateway benchmark ...");
            var report = await new GatewayBenchmark(options, Console.Out).RunAsync(cancellationToken);
            var markdown = GatewayBenchmarkPrinter.Markdown(report);
            Console.WriteLine();
            Console.WriteLine(markdown);
            await File.WriteAllTextAsync(Path.Combine(report.Folder, "report.md"), markdown, cancellationToken);
            if (result.GetValue(docs))
            {
                await BenchmarkDocs.WriteSectionAsync("gateway", markdown, cancellationToken);
            }

            return report.CaptureChecks.Any(c => c.Missing > 0) ? 1 : 0;
        });

        var url = new Option<string>("--url") { Description = "Base URL to load (gateway or upstream).", Required = true };
        var loadDuration = new Option<int>("--duration") { Description = "Measured seconds. Default: 10.", DefaultValueFactory = _ => 10 };
        var loadWarmup = new Option<int>("--warmup") { Description = "Warm-up seconds. Default: 5.", DefaultValueFactory = _ => 5 };
        var loadWords = new Option<int>("--words") { Description = "Words per fake answer. Default: 30.", DefaultValueFactory = _ => 30 };
        var stream = new Option<bool>("--stream") { Description = "Ask for streamed answers and report time to first byte." };
        var loadConnections = new Option<int>("--connections") { Description = "Connections. Default: 64.", DefaultValueFactory = _ => 64 };
        var loadRate = new Option<double?>("--rate") { Description = "Fixed total requests/s (open loop); omit for closed loop." };
        var load = new Command("load", "Load one URL with chat requests and print latency (and first-byte) percentiles: for ad-hoc measurements.")
        {
            url, stream, loadConnections, loadRate, loadDuration, loadWarmup, loadWords,
        };
        load.SetAction(async (result, cancellationToken) =>
        {
            var isStream = result.GetValue(stream);
            var body = isStream
                ? """{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"hello"}]}"""
                : """{"model":"bench-model","messages":[{"role":"user","content":"hello"}]}""";
            var run = await new Tao.Bench.LoadGenerator(new Uri(result.GetValue(url)!), "/v1/chat/completions", body,
                    new Dictionary<string, string> { ["x-fake-words"] = result.GetValue(loadWords).ToString() })
                .RunAsync("load", result.GetValue(loadConnections), TimeSpan.FromSeconds(result.GetValue(loadDuration)),
                    TimeSpan.FromSeconds(result.GetValue(loadWarmup)), result.GetValue(loadRate), cancellationToken);
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{run.RequestsPerSecond:0} req/s, {run.Errors} errors; latency p50 {run.Latency(50):0.000} p99 {run.Latency(99):0.000} p99.9 {run.Latency(99.9):0.000} ms; " +
                $"first byte p50 {run.FirstByte(50):0.000} p99 {run.FirstByte(99):0.000} p99.9 {run.FirstByte(99.9):0.000} ms"));
            return 0;
        });

        return new Command("bench", "Benchmarks: commands that print figures against baselines run in the same invocation (never tests).")
        {
            gateway, load, TaoBenchmarkCommand.Create(), GateBenchmark.Create(),
        };
    }
}
