using System.Diagnostics;
using System.Text.Json;
using Tao.Bench;

namespace Tao.Cli.Benchmarks;

/// <summary>
/// Closed-loop load from wrk (Debian's package): a C load generator in its own process, light enough that the
/// proxy under test, not the client, is what saturates. Percentiles come from wrk's own histogram.
/// </summary>
internal static class WrkRunner
{
    public static bool Available => File.Exists("/usr/bin/wrk") || Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(p => File.Exists(Path.Combine(p, "wrk")));

    public static async Task<LoadResult> RunAsync(string name, Uri target, string path, string body, IReadOnlyDictionary<string, string> headers,
        int connections, TimeSpan duration, string workFolder, CancellationToken cancellationToken)
    {
        var script = Path.Combine(workFolder, "wrk.lua");
        var lines = new List<string>
        {
            "wrk.method = \"POST\"",
            $"wrk.body = [==[{body}]==]",
            "wrk.headers[\"Content-Type\"] = \"application/json\"",
        };
        lines.AddRange(headers.Select(h => $"wrk.headers[\"{h.Key}\"] = \"{h.Value}\""));
        lines.Add("""
            function done(summary, latency, requests)
              local e = summary.errors
              io.write(string.format('{"requests":%d,"duration_us":%d,"errors":%d,"p50":%f,"p99":%f,"p999":%f}\n',
                summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout,
                latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
            end
            """);
        await File.WriteAllLinesAsync(script, lines, cancellationToken);
        var threads = Math.Min(connections, 2);
        var info = new ProcessStartInfo("wrk")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var argument in new[] { $"-t{threads}", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--timeout", "10s", "-s", script, new Uri(target, path).ToString() })
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var json = output.Split('\n').Last(l => l.StartsWith('{'));
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        var micros = new[] { root.GetProperty("p50").GetDouble(), root.GetProperty("p99").GetDouble(), root.GetProperty("p999").GetDouble() };
        return new LoadResult(name, connections, TimeSpan.FromMicroseconds(root.GetProperty("duration_us").GetInt64()),
            root.GetProperty("requests").GetInt64() - root.GetProperty("errors").GetInt64(), root.GetProperty("errors").GetInt64(), [], [])
        {
            Percentiles = new Dictionary<double, double> { [50] = micros[0] / 1000, [99] = micros[1] / 1000, [99.9] = micros[2] / 1000 },
        };
    }
}
