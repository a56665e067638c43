using System.Diagnostics;
using System.Net;
using System.Text;
using Tao.Capture;

namespace Tao.Bench;

/// <summary>
/// A closed-loop HTTP load generator: N connections, each sending the next request as soon as the previous one
/// is answered, for a fixed time after a warm-up. Records every latency and the time to the first body byte.
/// </summary>
public sealed class LoadGenerator(Uri target, string path, string body, IReadOnlyDictionary<string, string> headers)
{
    private long _answered;

    /// <summary>Calls answered with a success status so far, over every run of this generator, warm-up included (live).</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>
    /// Runs the load. With <paramref name="ratePerSecond"/> the load is open-loop: requests are spaced evenly at that
    /// total rate (each connection waits its turn), so latency is measured below saturation instead of queueing at it.
    /// With <paramref name="until"/> the measurement ends when that task completes, if before <paramref name="duration"/>
    /// (a scenario that acts on the load, such as killing the server once enough calls were answered).
    /// </summary>
    public async Task<LoadResult> RunAsync(
        string name, int connections, TimeSpan duration, TimeSpan warmup, double? ratePerSecond = null, CancellationToken cancellationToken = default,
        Task? until = null)
    {
        var interval = ratePerSecond is { } rate ? TimeSpan.FromSeconds(connections / rate) : TimeSpan.Zero;
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            AutomaticDecompression = DecompressionMethods.None,
            UseProxy = false,
        };
        using var client = new HttpClient(handler) { BaseAddress = target, Timeout = TimeSpan.FromSeconds(30) };
        var payload = Encoding.UTF8.GetBytes(body);
        var latencies = new List<double>[connections];
        var firstBytes = new List<double>[connections];
        var ids = new List<string>[connections];
        long requests = 0;
        long errors = 0;
        var measuring = false;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // At the end no new request is sent, but those in flight finish: a call the server answered and captured
        // must not be cut off on the client side, or "every answered call was captured" checks would count it as
        // captured but never answered.
        using var stopSending = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);

        async Task Worker(int index)
        {
            var mine = latencies[index] = new List<double>(4096);
            var firsts = firstBytes[index] = new List<double>(4096);
            var seen = ids[index] = new List<string>(4096);
            var buffer = new byte[16 * 1024];
            var next = Stopwatch.GetTimestamp() + (long)(interval.Ticks * (index / (double)connections) * Stopwatch.Frequency / TimeSpan.TicksPerSecond);
            while (!stopSending.IsCancellationRequested)
            {
                if (interval > TimeSpan.Zero)
                {
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                    if (wait > TimeSpan.Zero)
                    {
                        try
                        {
                            await Task.Delay(wait, stopSending.Token);
                        }
                        catch (OperationCanceledException)
                        {
                            break;
                        }
                    }

                    next += (long)(interval.TotalSeconds * Stopwatch.Frequency);
                }

                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(payload) };
                request.Content.Headers.ContentType = new("application/json");
                foreach (var (key, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(key, value);
                }

                var start = Stopwatch.GetTimestamp();
                double? first = null;
                var ok = false;
                try
                {
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token);
                    await using var stream = await response.Content.ReadAsStreamAsync(stop.Token);
                    int read;
                    while ((read = await stream.ReadAsync(buffer, stop.Token)) > 0)
                    {
                        first ??= Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    }

                    ok = response.IsSuccessStatusCode;
                    if (ok)
                    {
                        Interlocked.Increment(ref _answered);
                    }

                    if (ok && response.Headers.TryGetValues(TaoHeaders.RequestId, out var id))
                    {
                        seen.Add(id.First());
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (HttpRequestException)
                {
                }
                catch (IOException)
                {
                }

                if (!Volatile.Read(ref measuring))
                {
                    continue;
                }

                if (ok)
                {
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    firsts.Add(first ?? double.NaN);
                    Interlocked.Increment(ref requests);
                }
                else
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }

        var workers = Enumerable.Range(0, connections).Select(i => Task.Run(() => Worker(i))).ToArray();
        await Task.Delay(warmup, cancellationToken);
        Volatile.Write(ref measuring, true);
        var clock = Stopwatch.StartNew();
        if (until is null)
        {
            await Task.Delay(duration, cancellationToken);
        }
        else
        {
            await Task.WhenAny(Task.Delay(duration, cancellationToken), until);
            cancellationToken.ThrowIfCancellationRequested();
        }

        Volatile.Write(ref measuring, false);
        var elapsed = clock.Elapsed;
        stopSending.Cancel();
        stop.CancelAfter(TimeSpan.FromSeconds(30)); // a call still unanswered by then is abandoned
        await Task.WhenAll(workers);

        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        var allFirst = firstBytes.SelectMany(l => l).Where(v => !double.IsNaN(v)).ToArray();
        Array.Sort(allFirst);
        return new LoadResult(name, connections, elapsed, Interlocked.Read(ref requests), Interlocked.Read(ref errors), all, allFirst)
        {
            AnsweredRequestIds = ids.SelectMany(l => l).ToArray(),
        };
    }
}
