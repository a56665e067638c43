namespace Tao.Trainer.Evaluation;

/// <summary>
/// Two systems scored on the same items (accuracy as 0/1, or any per-item score): the mean gain of B over A with a
/// paired bootstrap interval (items resampled within their stratum, e.g. a seed), and for 0/1 scores McNemar's exact
/// test on the items where exactly one of them is right.
/// </summary>
public sealed record PairedComparison(int Items, double MeanA, double MeanB, double Gain, double Low, double High, int OnlyA, int OnlyB, double PValue, double Level)
{
    /// <summary>The interval excludes zero on the side of a gain.</summary>
    public bool SignificantGain => Low > 0;

    /// <summary>The interval excludes zero on the side of a loss.</summary>
    public bool SignificantLoss => High < 0;

    public static PairedComparison Compute(IReadOnlyList<(double A, double B, string Stratum)> items, int resamples = 10_000, int seed = 17, double level = 0.95)
    {
        if (items.Count == 0)
        {
            return new PairedComparison(0, 0, 0, 0, 0, 0, 0, 0, 1, level);
        }

        var strata = items.GroupBy(i => i.Stratum, StringComparer.Ordinal).Select(g => g.Select(i => i.B - i.A).ToArray()).ToList();
        var random = new Random(seed);
        var gains = new double[resamples];
        for (var r = 0; r < resamples; r++)
        {
            double total = 0;
            foreach (var stratum in strata)
            {
                for (var i = 0; i < stratum.Length; i++)
                {
                    total += stratum[random.Next(stratum.Length)];
                }
            }

            gains[r] = total / items.Count;
        }

        Array.Sort(gains);
        var tail = (1 - level) / 2;
        var onlyA = items.Count(i => i.A > i.B && IsBinary(i));
        var onlyB = items.Count(i => i.B > i.A && IsBinary(i));
        var binary = items.All(IsBinary);
        return new PairedComparison(items.Count, items.Average(i => i.A), items.Average(i => i.B), items.Average(i => i.B - i.A),
            Quantile(gains, tail), Quantile(gains, 1 - tail), onlyA, onlyB, binary ? McNemar(onlyA, onlyB) : double.NaN, level);
    }

    /// <summary>
    /// Two success rates of independent samples (e.g. live calls to two versions during a canary): the difference B − A
    /// with Newcombe's hybrid score interval (Wilson intervals of each rate combined). Not paired; no McNemar test.
    /// </summary>
    public static PairedComparison Independent(long successA, long totalA, long successB, long totalB, double level = 0.95)
    {
        if (totalA == 0 || totalB == 0)
        {
            return new PairedComparison(0, 0, 0, 0, 0, 0, 0, 0, double.NaN, level);
        }

        var z = level >= 0.95 ? 1.959964 : 1.644854;
        var (pa, pb) = ((double)successA / totalA, (double)successB / totalB);
        var (la, ua) = Wilson(successA, totalA, z);
        var (lb, ub) = Wilson(successB, totalB, z);
        var difference = pb - pa;
        var low = difference - Math.Sqrt((pb - lb) * (pb - lb) + (ua - pa) * (ua - pa));
        var high = difference + Math.Sqrt((ub - pb) * (ub - pb) + (pa - la) * (pa - la));
        return new PairedComparison((int)Math.Min(int.MaxValue, totalA + totalB), pa, pb, difference, low, high, 0, 0, double.NaN, level);
    }

    /// <summary>
    /// Gains measured in independent runs (e.g. one per seed, each with its own training): the mean with Student's t 95 %
    /// interval (n − 1 degrees of freedom). Item intervals hold the trained models fixed; this one counts each training
    /// run as one draw, so it carries what a run varies by — wide with few runs, and honest about it.
    /// </summary>
    public static RunInterval AcrossRuns(IReadOnlyList<double> gains)
    {
        var n = gains.Count;
        var mean = n == 0 ? 0 : gains.Average();
        if (n < 2)
        {
            return new RunInterval([.. gains], mean, double.NaN, double.NegativeInfinity, double.PositiveInfinity);
        }

        var sd = Math.Sqrt(gains.Sum(g => (g - mean) * (g - mean)) / (n - 1));
        var half = StudentT975(n - 1) * sd / Math.Sqrt(n);
        return new RunInterval([.. gains], mean, sd, mean - half, mean + half);
    }

    /// <summary>Student's t 97.5 % quantile (two-sided 95 %) for <paramref name="df"/> degrees of freedom.</summary>
    internal static double StudentT975(int df) => df switch
    {
        1 => 12.706, 2 => 4.303, 3 => 3.182, 4 => 2.776, 5 => 2.571, 6 => 2.447, 7 => 2.365, 8 => 2.306, 9 => 2.262, 10 => 2.228,
        <= 20 => 2.086 + (20 - df) * 0.0142, // linear between df 10 (2.228) and 20 (2.086)
        <= 30 => 2.042 + (30 - df) * 0.0044,
        _ => 1.96 + 2.4 / df,
    };

    private static (double Low, double High) Wilson(long successes, long total, double z)
    {
        var p = (double)successes / total;
        var denominator = 1 + z * z / total;
        var centre = (p + z * z / (2.0 * total)) / denominator;
        var half = z * Math.Sqrt(p * (1 - p) / total + z * z / (4.0 * total * total)) / denominator;
        return (centre - half, centre + half);
    }

    private static bool IsBinary((double A, double B, string Stratum) item) => item.A is 0 or 1 && item.B is 0 or 1;

    private static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }

    /// <summary>Two-sided exact McNemar test: the discordant items split as Binomial(b + c, 1/2) under no difference.</summary>
    public static double McNemar(int b, int c)
    {
        var n = b + c;
        if (n == 0)
        {
            return 1;
        }

        var k = Math.Min(b, c);
        double tail = 0;
        for (var i = 0; i <= k; i++)
        {
            tail += Math.Exp(LogChoose(n, i) - n * Math.Log(2));
        }

        return Math.Min(1, 2 * tail);
    }

    private static double LogChoose(int n, int k) => LogFactorial(n) - LogFactorial(k) - LogFactorial(n - k);

    private static double LogFactorial(int n)
    {
        double total = 0;
        for (var i = 2; i <= n; i++)
        {
            total += Math.Log(i);
        }

        return total;
    }
}

/// <summary>A gain over independent runs: each run's gain, their mean and standard deviation, and the t interval.</summary>
public sealed record RunInterval(double[] Gains, double Mean, double Sd, double Low, double High);
