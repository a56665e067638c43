using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tao.Gateway.Settings;

namespace Tao.Gateway.Proxy;

/// <summary>
/// A retry budget per cluster (as in Finagle and Linkerd): over a sliding 10 s window, retries may add at most
/// <see cref="GatewayOptions.RetryBudgetPercent"/> of the calls the cluster was sent, plus a small floor per second.
/// Per-call retry counts alone multiply load on an upstream that fails because it is overloaded; a budget caps the
/// extra load whatever the traffic. Fallbacks go to other clusters and do not spend it.
/// </summary>
internal sealed class RetryBudget(IOptionsMonitor<GatewayOptions> options, TimeProvider time)
{
    private const int WindowSeconds = 10;
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>Counts a call sent to the cluster (first attempts; they earn the budget).</summary>
    public void Deposit(string cluster)
    {
        var window = _windows.GetOrAdd(cluster, _ => new Window());
        lock (window)
        {
            window.Slot(Second()).Requests++;
        }
    }

    /// <summary>Spends one retry when the budget allows it; false when the cluster's retries are spent for now.</summary>
    public bool TryWithdraw(string cluster)
    {
        var settings = options.CurrentValue;
        var window = _windows.GetOrAdd(cluster, _ => new Window());
        lock (window)
        {
            var now = Second();
            window.Slot(now);
            var (requests, retries) = window.Totals(now);
            var allowed = requests * settings.RetryBudgetPercent / 100 + settings.RetryBudgetMinPerSecond * WindowSeconds;
            if (retries + 1 > allowed)
            {
                return false;
            }

            window.Slot(now).Retries++;
            return true;
        }
    }

    private long Second() => time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>One bucket per second of the window, reused as the clock moves on.</summary>
    private sealed class Window
    {
        private readonly Bucket[] _buckets = Enumerable.Range(0, WindowSeconds).Select(_ => new Bucket()).ToArray();

        public Bucket Slot(long second)
        {
            var bucket = _buckets[second % WindowSeconds];
            if (bucket.Second != second)
            {
                bucket.Second = second;
                bucket.Requests = 0;
                bucket.Retries = 0;
            }

            return bucket;
        }

        public (double Requests, double Retries) Totals(long now)
        {
            double requests = 0, retries = 0;
            foreach (var bucket in _buckets)
            {
                if (now - bucket.Second < WindowSeconds)
                {
                    requests += bucket.Requests;
                    retries += bucket.Retries;
                }
            }

            return (requests, retries);
        }
    }

    private sealed class Bucket
    {
        public long Second { get; set; } = -1;
        public long Requests { get; set; }
        public long Retries { get; set; }
    }
}
