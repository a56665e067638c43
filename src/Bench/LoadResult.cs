namespace Tao.Bench;

/// <summary>What one load run measured: completed requests, failures, and latency (and time to first byte) percentiles.</summary>
public sealed record LoadResult(string Name, int Connections, TimeSpan Duration, long Requests, long Errors, double[] LatenciesMs, double[] FirstByteMs)
{
    /// <summary>Request ids of every successful answer during the whole run (warm-up included).</summary>
    public IReadOnlyList<string> AnsweredRequestIds { get; init; } = [];

    public double RequestsPerSecond => Requests / Duration.TotalSeconds;

    /// <summary>Percentiles computed elsewhere (e.g. by wrk's histogram), used when no raw latencies were kept.</summary>
    public IReadOnlyDictionary<double, double>? Percentiles { get; init; }

    public double Latency(double percentile) =>
        Percentiles is not null && Percentiles.TryGetValue(percentile, out var value) ? value : Percentile(LatenciesMs, percentile);

    public double FirstByte(double percentile) => Percentile(FirstByteMs, percentile);

    public static double Percentile(double[] sorted, double percentile)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = percentile / 100.0 * (sorted.Length - 1);
        var low = (int)Math.Floor(rank);
        var high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
}
