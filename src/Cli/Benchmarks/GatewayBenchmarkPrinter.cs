using System.Globalization;
using System.Text;

namespace Tao.Cli.Benchmarks;

/// <summary>The benchmark's figures as markdown, with added latency over direct and ratios against nginx, YARP alone and Portkey's gateway.</summary>
internal static class GatewayBenchmarkPrinter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Markdown(GatewayBenchmarkReport report)
    {
        var o = report.Options;
        var text = new StringBuilder();
        text.AppendLine($"Machine: {Environment.ProcessorCount} cores; every server is its own process on 127.0.0.1; the fake upstream answers " +
                        $"{o.Words} words. Each server process first takes {o.ProcessWarmup.TotalSeconds:0} s of load at 64 connections " +
                        $"(the JIT's tiered recompilation of the hot paths finishes in it); each run then has {o.Warmup.TotalSeconds:0} s warm-up " +
                        $"and {o.Duration.TotalSeconds:0} s measured.");
        text.AppendLine();
        text.AppendLine($"### Throughput (closed loop, {(WrkRunner.Available ? "wrk" : ".NET client")})");
        text.AppendLine();
        text.AppendLine("| proxy | conns | req/s | vs nginx | vs YARP alone | vs Portkey | p50 ms | p99 ms | p99.9 ms | proxy CPU (cores) | proxy RSS MiB | captures shipped/s |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in report.Throughput)
        {
            var vsNginx = row.Name == "direct" ? "" : Ratio(report, row, r => r.Name.StartsWith("nginx", StringComparison.Ordinal));
            var vsYarp = row.Name.StartsWith("tao", StringComparison.Ordinal) ? Ratio(report, row, r => r.Name == GatewayBenchmark.YarpBaselineName) : "";
            var vsPortkey = row.Name.StartsWith("tao", StringComparison.Ordinal) ? Ratio(report, row, r => r.Name == PortkeyGateway.Name) : "";
            text.AppendLine(string.Create(Inv,
                $"| {row.Name} | {row.Load.Connections} | {row.Load.RequestsPerSecond:0} | {vsNginx} | {vsYarp} | {vsPortkey} | " +
                $"{row.Load.Latency(50):0.00} | {row.Load.Latency(99):0.00} | {row.Load.Latency(99.9):0.00} | " +
                $"{Fmt(row.ProxyCores, "0.00")} | {Fmt(row.ProxyResidentBytes / 1048576.0, "0")} | {Fmt(row.ShippedPerSecond, "0")} |"));
        }

        text.AppendLine();
        text.AppendLine($"### Added latency below saturation (open loop, {o.Rate:0} requests/s over {o.LatencyConnections} connections)");
        text.AppendLine();
        Latencies(text, report.Latency, r => r.Latency, "latency");
        if (report.Streaming.Count > 0)
        {
            text.AppendLine();
            text.AppendLine($"### Streaming: time to first byte (open loop, {o.Rate:0} requests/s, 20 chunks per answer)");
            text.AppendLine();
            Latencies(text, report.Streaming, r => r.FirstByte, "first byte");
        }

        if (report.ResponsesStreaming.Count > 0)
        {
            text.AppendLine();
            text.AppendLine($"### Streaming through the Responses API: time to first byte (open loop, {o.Rate:0} requests/s, 20 text deltas per answer)");
            text.AppendLine();
            Latencies(text, report.ResponsesStreaming, r => r.FirstByte, "first byte");
        }

        if (report.CaptureChecks.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("### Nothing lost");
            text.AppendLine();
            text.AppendLine("| capture | answered calls (checked by request id) | records stored | answered but missing | drained after load |");
            text.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var check in report.CaptureChecks)
            {
                text.AppendLine(string.Create(Inv, $"| {check.Name} | {check.Answered} | {check.Stored} | {check.Missing} | {check.DrainAfterLoad.TotalSeconds:0.0} s |"));
            }
        }

        if (report.Pipeline.Count > 0)
        {
            var captureOn = report.Throughput.Where(r => r.Name.Contains("capture to", StringComparison.Ordinal)).Select(r => r.Load.RequestsPerSecond).DefaultIfEmpty(0).Max();
            text.AppendLine();
            text.AppendLine("### Capture pipeline capacity");
            text.AppendLine();
            text.AppendLine("The sink is made unreachable, load fills the spool, then the sink comes back; the backlog's drain rate is what the sink path " +
                            "sustains. The spool grows whenever calls are captured faster than that.");
            text.AppendLine();
            text.AppendLine("| sink | backlog after the first batch (records) | drain s | records/s | gateway's best capture-on req/s in this run | spool grows above (records/s) |");
            text.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var row in report.Pipeline)
            {
                // The rate is timed from the first batch after the outage to the end; a backlog that fit in that batch says nothing.
                var rate = row.Backlog >= 1000 ? row.RecordsPerSecond.ToString("0", Inv) : "— (backlog fit in one batch; run longer)";
                text.AppendLine(string.Create(Inv, $"| {row.Name} | {row.Backlog} | {row.Drain.TotalSeconds:0.0} | {rate} | {captureOn:0} | {rate} |"));
            }
        }

        foreach (var soak in report.Soaks.Where(s => s.Samples.Count > 1))
        {
            var settled = soak.Settled;
            text.AppendLine();
            text.AppendLine(string.Create(Inv, $"### Soak: {soak.Name}, {o.Rate:0} requests/s for {o.Soak.TotalMinutes:0.#} min"));
            text.AppendLine();
            var drift = settled.Count >= 2
                ? string.Create(Inv, $"After the first minute {settled.Min(s => s.RssMiB):0}–{settled.Max(s => s.RssMiB):0} MiB, drift {soak.DriftMiBPerMinute:+0.0;-0.0} MiB/min (least squares). ")
                : "Too short to read a drift after the first minute. ";
            text.AppendLine(string.Create(Inv,
                $"Gateway resident memory (MiB) every 10 s: {string.Join(", ", soak.Samples.Select(s => s.RssMiB.ToString("0", Inv)))}. {drift}" +
                $"{soak.Load.Requests} calls answered, {soak.Load.Errors} errors, p99 {soak.Load.Latency(99):0.00} ms."));
            if (soak.Samples.All(s => s.StoreRssMiB is not null))
            {
                var storeDrift = soak.StoreDriftMiBPerMinute is { } d ? string.Create(Inv, $"; drift after the first minute {d:+0.0;-0.0} MiB/min") : string.Empty;
                text.AppendLine();
                text.AppendLine($"Its store process (MiB): {string.Join(", ", soak.Samples.Select(s => s.StoreRssMiB!.Value.ToString("0", Inv)))}{storeDrift}.");
            }
        }

        if (report.Static.Count > 0)
        {
            StaticUpstream(text, report);
        }

        text.AppendLine();
        text.AppendLine($"Raw logs and configurations: `{Path.GetRelativePath(Directory.GetCurrentDirectory(), report.Folder)}`.");
        return text.ToString();
    }

    /// <summary>The static-upstream table, the cold start, and the performance issue's targets read off them.</summary>
    private static void StaticUpstream(StringBuilder text, GatewayBenchmarkReport report)
    {
        var o = report.Options;
        var rows = report.Static;
        StaticRow? Find(string name) => rows.FirstOrDefault(r => r.Name == name);
        var nginx = rows.FirstOrDefault(r => r.Name.StartsWith("nginx", StringComparison.Ordinal));
        var portkey = Find(PortkeyGateway.Name);
        var off = Find(GatewayBenchmark.CaptureOffName);
        var embedded = Find(GatewayBenchmark.CaptureEmbeddedName);
        var nativeOff = Find(GatewayBenchmark.NativeName(GatewayBenchmark.CaptureOffName));
        var nativeEmbedded = Find(GatewayBenchmark.NativeName(GatewayBenchmark.CaptureEmbeddedName));
        bool IsNative(StaticRow row) => row.Name.StartsWith(GatewayBenchmark.NativeLabel, StringComparison.Ordinal);
        text.AppendLine();
        text.AppendLine($"### Static upstream: nginx `return 200` with a fixed 30-word chat completion (closed loop, {o.StaticConnections} connections)");
        text.AppendLine();
        text.AppendLine("The cheapest upstream there is, so each row is mostly the proxy's own cost. RSS is all resident memory; anonymous is the " +
                        "process's own part of it (heaps, stacks: RSS less mapped files such as the runtime's and the embedded engine's code); managed " +
                        "heap is the .NET heap after the last collection (from the gateway's /metrics).");
        text.AppendLine();
        text.AppendLine("| proxy | req/s | vs nginx | vs capture off | vs Portkey | p50 ms | p99 ms | p99 vs nginx | proxy CPU (cores) | " +
                        "RSS MiB | anonymous MiB | managed heap MiB | store process: CPU, RSS MiB |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var row in rows)
        {
            var tao = row.Name.StartsWith("tao", StringComparison.Ordinal);
            var ownOff = IsNative(row) ? nativeOff : off;
            var rps = row.Load.RequestsPerSecond;
            string Over(StaticRow? baseline) => baseline is null || baseline == row ? "" : (rps / baseline.Load.RequestsPerSecond).ToString("0.00", Inv);
            var store = row.StoreResidentBytes is { } storeRss ? string.Create(Inv, $"{row.StoreCores:0.00}, {storeRss / 1048576.0:0}") : "";
            text.AppendLine(string.Create(Inv,
                $"| {row.Name} | {rps:0} | {(row.Name == "direct" ? "" : Over(nginx))} | {(tao ? Over(ownOff) : "")} | {(tao ? Over(portkey) : "")} | " +
                $"{row.Load.Latency(50):0.00} | {row.Load.Latency(99):0.00} | " +
                $"{(nginx is null || row == nginx || row.Name == "direct" ? "" : (row.Load.Latency(99) / nginx.Load.Latency(99)).ToString("0.00", Inv))} | " +
                $"{Fmt(row.ProxyCores, "0.00")} | {Fmt(row.ResidentBytes / 1048576.0, "0")} | {Fmt(row.AnonymousResidentBytes / 1048576.0, "0")} | " +
                $"{Fmt(row.ManagedHeapBytes / 1048576.0, "0")} | {store} |"));
        }

        var warm = embedded?.Load.RequestsPerSecond ?? 0;
        // A new process is measured against the warm throughput of its own build's row.
        double Warm(ColdStart start) => start.Native ? nativeEmbedded?.Load.RequestsPerSecond ?? 0 : warm;
        string Build(ColdStart start) => start.Native ? GatewayBenchmark.NativeLabel : "tao gateway (JIT)";
        if (report.ColdStarts.Count > 0 && warm > 0)
        {
            text.AppendLine();
            text.AppendLine("### Cold start: a new gateway process (capture to the embedded store) under the same load from the moment /healthz answers");
            text.AppendLine();
            text.AppendLine("A gateway warms its request path before it listens (Tao:Gateway:WarmUpSeconds: a throwaway gateway in the same process proxies calls " +
                            "to an in-process upstream), so /healthz and /readyz answer only once it is warm; measured with its default warm-up and with none. " +
                            "The native gateway (tao-gateway) has no JIT to warm and is measured without. Requests/s in each one-second window " +
                            "(wrk, new connections each window):");
            text.AppendLine();
            foreach (var cold in report.ColdStarts)
            {
                text.AppendLine(string.Create(Inv,
                    $"- {Build(cold)}, warm-up {cold.WarmUpSeconds:0.#} s: /healthz answered {cold.Healthy.TotalSeconds:0.0} s after the process started; " +
                    $"{string.Join(", ", cold.PerSecond.Select(r => r.ToString("0", Inv)))}."));
            }

            text.AppendLine();
            text.AppendLine("| build | warm-up | started → /healthz | " + string.Join(" | ", ColdWindows.Select(w => $"req/s in seconds {w.From}–{w.To} of load (share of warm)")) + " |");
            text.AppendLine("|---|---|---:|" + string.Concat(ColdWindows.Select(_ => "---:|")));
            foreach (var cold in report.ColdStarts)
            {
                text.AppendLine(string.Create(Inv, $"| {Build(cold)} | {cold.WarmUpSeconds:0.#} s | {cold.Healthy.TotalSeconds:0.0} s | ") +
                                string.Join(" | ", ColdWindows.Select(w => Warm(cold) > 0
                                    ? string.Create(Inv, $"{cold.Mean(w.From, w.To):0} ({cold.Mean(w.From, w.To) / Warm(cold):P0})")
                                    : string.Create(Inv, $"{cold.Mean(w.From, w.To):0}"))) + " |");
            }
        }

        text.AppendLine();
        text.AppendLine("Targets of the performance issue (this run, static upstream):");
        text.AppendLine();
        if (nginx is null || off is null || embedded is null)
        {
            text.AppendLine("- not read: a row they need is missing from this run.");
            return;
        }

        var nginxRps = nginx.Load.RequestsPerSecond;
        foreach (var (build, buildOff, buildOn) in new[] { ("", off, embedded), (" (native)", nativeOff, nativeEmbedded) })
        {
            if (buildOff is null || buildOn is null)
            {
                continue;
            }

            Target(text, $"capture to the embedded store ≥ 0.6× nginx{build}", buildOn.Load.RequestsPerSecond / nginxRps, 0.6, "×");
            Target(text, $"capture to the embedded store ≥ 90 % of capture off{build}", buildOn.Load.RequestsPerSecond / buildOff.Load.RequestsPerSecond, 0.9, "×");
            Target(text, $"capture off ≥ 0.8× nginx{build}", buildOff.Load.RequestsPerSecond / nginxRps, 0.8, "×");
            Target(text, $"p99 with capture on ≤ 2× nginx's p99{build}", 2 / (buildOn.Load.Latency(99) / nginx.Load.Latency(99)), 1, "",
                string.Create(Inv, $"{buildOn.Load.Latency(99) / nginx.Load.Latency(99):0.00}× ({buildOn.Load.Latency(99):0.00} against {nginx.Load.Latency(99):0.00} ms)"));
        }

        foreach (var row in rows.Where(r => r.Name.Contains(", capture to", StringComparison.Ordinal) && r.ResidentBytes is not null))
        {
            var mib = row.ResidentBytes!.Value / 1048576.0;
            Target(text, $"gateway RSS under that load ≤ 150 MiB ({row.Name})", 150 / mib, 1, "",
                string.Create(Inv, $"{mib:0} MiB, of which {row.AnonymousResidentBytes / 1048576.0:0} anonymous and {row.ManagedHeapBytes / 1048576.0:0} managed heap"));
        }

        foreach (var start in report.ColdStarts.Where(s => Warm(s) > 0))
        {
            var firstSeconds = start.Mean(0, 5);
            var first5 = firstSeconds / Warm(start);
            Target(text, string.Create(Inv, $"a new process at 90 % of its warm throughput within 5 s of load ({Build(start)}, warm-up {start.WarmUpSeconds:0.#} s)"),
                first5 / 0.9, 1, "",
                string.Create(Inv, $"its first 5 s averaged {first5:P0} of warm; a one-second window first reached 90 % (and two in three after it did) " +
                                   $"at second {start.SecondsTo(0.9, Warm(start))?.ToString(Inv) ?? "—"}; it answered /healthz {start.Healthy.TotalSeconds:0.0} s after it started; " +
                                   $"against its own windows at seconds 10–30, measured the same way (new connections each second, which a " +
                                   $"steady run does not pay), its first 5 s were {firstSeconds / start.Mean(10, 30):P0}"));
        }

        if (portkey is not null)
        {
            Target(text, "≥ 10× Portkey's open-source gateway with capture on", embedded.Load.RequestsPerSecond / portkey.Load.RequestsPerSecond, 10, "×");
        }

        // Flat: a least-squares drift after the first minute within ±1 MiB a minute (a soak this short cannot tell a
        // slower leak from settling; the absolute bound keeps a large process from reading flatter than a small one).
        foreach (var soak in report.Soaks.Where(s => s.Settled.Count >= 2))
        {
            Target(text, $"gateway RSS flat over the soak ({soak.Name}; the gateway's process alone)", FlatDrift / Math.Max(Math.Abs(soak.DriftMiBPerMinute), 1e-9), 1, "",
                string.Create(Inv, $"{soak.DriftMiBPerMinute:+0.0;-0.0} MiB/min after the first minute, {soak.Settled.Min(x => x.RssMiB):0}–{soak.Settled.Max(x => x.RssMiB):0} MiB"));
        }
    }

    /// <summary>The drift (MiB a minute, either way) a soak's RSS may show after its first minute and still read as flat.</summary>
    public const double FlatDrift = 1.0;

    private static readonly (int From, int To)[] ColdWindows = [(0, 5), (5, 10), (10, 30)];

    private static void Target(StringBuilder text, string what, double value, double threshold, string unit, string? shown = null)
    {
        var met = value >= threshold;
        shown ??= value.ToString("0.00", Inv) + unit;
        text.AppendLine(string.Create(Inv, $"- {what}: **{(met ? "met" : "missed")}** ({shown})."));
    }

    private static void Latencies(StringBuilder text, List<Tao.Bench.LoadResult> runs, Func<Tao.Bench.LoadResult, Func<double, double>> metric, string what)
    {
        var direct = runs.FirstOrDefault(r => r.Name == "direct");
        text.AppendLine($"| path | {what} p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms | added p99.9 ms | errors |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var run in runs)
        {
            var m = metric(run);
            var added = direct is null || run == direct ? ("", "", "") : (
                (m(50) - metric(direct)(50)).ToString("0.000", Inv), (m(99) - metric(direct)(99)).ToString("0.000", Inv), (m(99.9) - metric(direct)(99.9)).ToString("0.000", Inv));
            text.AppendLine(string.Create(Inv, $"| {run.Name} | {m(50):0.000} | {m(99):0.000} | {m(99.9):0.000} | {added.Item1} | {added.Item2} | {added.Item3} | {run.Errors} |"));
        }
    }

    /// <summary>Throughput of <paramref name="row"/> over the baseline row at the same connections, or empty without one.</summary>
    private static string Ratio(GatewayBenchmarkReport report, ThroughputRow row, Func<ThroughputRow, bool> baseline)
    {
        var match = report.Throughput.FirstOrDefault(r => baseline(r) && r.Load.Connections == row.Load.Connections);
        return match is null ? "" : (row.Load.RequestsPerSecond / match.Load.RequestsPerSecond).ToString("0.00", Inv);
    }

    private static string Fmt(double? value, string format) => value is { } v && !double.IsNaN(v) ? v.ToString(format, Inv) : "";
}
