namespace Tao.Trainer.Training;

/// <summary>
/// Which weights a round keeps, from their scores (label-free dev, or the caller's held-out measure). Iterations and the
/// polish are scored alike, but they are not alike: the polish trains on every target the iterations found, to
/// convergence, while an iteration's weights are a step on the way. Picking the single highest of a dozen noisy scores
/// would mostly pick noise (the winner's curse), so a polish competes with its final epoch only (<see cref="Finals"/>:
/// the end of its schedule, where the rate has decayed), the polish runs (one per rate) are compared on those (the lowest rate
/// unless a higher one is clearly better, <see cref="SteadiestRate"/>), and that one is kept unless its score is below
/// the best iteration's by more than the score's own noise; without a polish,
/// the best iteration. Ties go to the later.
/// </summary>
public static class KeptWeights
{
    /// <summary>Ids above this are polish epochs (see <see cref="PolishId"/>), the others iterations (0 = the starting weights).</summary>
    public const int PolishBase = 1000;

    /// <summary>Ids of consecutive polish runs (one per pass and learning rate) are this far apart (a run has fewer epochs).</summary>
    public const int PassStride = 100;

    /// <summary>The id the weights after <paramref name="epoch"/> epochs of polish run <paramref name="run"/> (both from 1) are kept under.</summary>
    public static int PolishId(int run, int epoch) => PolishBase + (run - 1) * PassStride + epoch;

    /// <summary>The run and epoch of a polish id; (0, 0) for an iteration's.</summary>
    public static (int Run, int Epoch) Polish(int id) => id > PolishBase ? ((id - PolishBase - 1) / PassStride + 1, (id - PolishBase - 1) % PassStride + 1) : (0, 0);

    /// <summary>How an id is written in logs and evaluations: "polish{run}.{epoch}" for a polish epoch, else the iteration's number.</summary>
    public static string Name(int id) => Polish(id) is (> 0 and var run, var epoch)
        ? $"polish{run}.{epoch}" : id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The id a <see cref="Name"/> was written for.</summary>
    public static int Parse(string name)
    {
        const string prefix = "polish";
        if (!name.StartsWith(prefix, StringComparison.Ordinal))
        {
            return int.Parse(name, System.Globalization.CultureInfo.InvariantCulture);
        }

        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return PolishId(int.Parse(name[prefix.Length..dot], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(name[(dot + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private const string DevNotePrefix = "dev by iteration: ";

    /// <summary>The note of a round's "selected" metrics line: every competing id's dev score, as "dev by iteration: 0=0.567, polish1.12=0.587".</summary>
    public static string DevNote(IEnumerable<KeyValuePair<int, double>> scores) =>
        DevNotePrefix + string.Join(", ", scores.Select(d => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Name(d.Key)}={d.Value:0.000}")));

    /// <summary>The scores a <see cref="DevNote"/> holds; empty for any other note.</summary>
    public static Dictionary<int, double> ParseDevNote(string? note)
    {
        var scores = new Dictionary<int, double>();
        if (note is null || !note.StartsWith(DevNotePrefix, StringComparison.Ordinal))
        {
            return scores;
        }

        foreach (var part in note[DevNotePrefix.Length..].Split(", "))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            scores[Parse(part[..equals])] = double.Parse(part[(equals + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }

        return scores;
    }

    /// <summary>
    /// The ids that compete for the kept weights: every iteration's, and of each polish run only its last epoch. Measured
    /// with every epoch's held-out accuracy logged beside its dev score (`./tao bench tao --trace-held-out`, sql and units,
    /// three seeds, 2026-12-04): the last epoch of the run the dev slice preferred was within 0.5 points of the best
    /// epoch anywhere on all six rounds, while the best single dev score picked mid-schedule spikes (units seed 3:
    /// epoch 5 of 12, 64.5 % held-out, where the runs ended at 70.5 and 75.5 %).
    /// </summary>
    public static IReadOnlySet<int> Finals(IEnumerable<int> ids)
    {
        var list = ids.ToList();
        var last = list.Where(i => i > PolishBase).GroupBy(i => Polish(i).Run).Select(g => g.Max());
        return list.Where(i => i <= PolishBase).Concat(last).ToHashSet();
    }

    /// <summary>
    /// Of polish runs at different learning rates (their final epochs), the one to keep: the lowest rate, unless a higher
    /// one scores better on the dev inputs by more than the paired difference's own standard error (then that one, and
    /// so on up the rates). The risk is not symmetric: a rate too low still keeps most of the gain, a rate too high
    /// over-fits a small buffer and can lose all of it (the demo's shop round, 163 inputs and 24 dev inputs, 2026-12-05:
    /// polish at 0.003 +10.4 points on 800 labelled items, at 0.01 +4.3; dev 0.7128 against 0.7134, and the higher was
    /// kept). A lead of one dev input in 45 is exactly one standard error, so it does not count as clear.
    /// </summary>
    /// <param name="items">Each run's per-dev-input scores, all taken against one pool (same order).</param>
    /// <param name="rate">Each id's learning rate.</param>
    public static int SteadiestRate(IReadOnlyDictionary<int, double[]> items, Func<int, double> rate)
    {
        if (items.Count == 0)
        {
            throw new ArgumentException("no runs were scored", nameof(items));
        }

        var ordered = items.Keys.OrderBy(rate).ThenBy(id => id).ToList();
        var kept = ordered[0];
        foreach (var id in ordered.Skip(1))
        {
            if (ClearlyBetter(items[id], items[kept]))
            {
                kept = id;
            }
        }

        return kept;
    }

    /// <summary>The mean of the paired differences is positive and above its standard error (n − 1 in the variance).</summary>
    public static bool ClearlyBetter(IReadOnlyList<double> candidate, IReadOnlyList<double> incumbent)
    {
        if (candidate.Count != incumbent.Count)
        {
            throw new ArgumentException("paired scores need the same inputs", nameof(candidate));
        }

        var n = candidate.Count;
        if (n < 2)
        {
            return n == 1 && candidate[0] > incumbent[0];
        }

        var differences = candidate.Zip(incumbent, (a, b) => a - b).ToList();
        var mean = differences.Average();
        var variance = differences.Sum(d => (d - mean) * (d - mean)) / (n - 1);
        const double rounding = 1e-9; // one input's lead is exactly one standard error; rounding must not tip it
        return mean > 0 && mean > Math.Sqrt(variance / n) + rounding;
    }

    /// <param name="epochSlack">Polish epochs scoring within this of the best polish epoch count as tied with it, and the
    /// latest of them (the furthest down its schedule, the most converged) is kept: one dev input's worth (1/n) turns
    /// a rounding-level lead of an early epoch into a tie (sql seed 3: epoch 4 and epoch 12 both 0.589).</param>
    public static int Choose(IReadOnlyDictionary<int, double> scores, double tolerance, double epochSlack = 0)
    {
        if (scores.Count == 0)
        {
            throw new ArgumentException("no weights were scored", nameof(scores));
        }

        static KeyValuePair<int, double>? Best(IEnumerable<KeyValuePair<int, double>> items) =>
            items.OrderByDescending(s => s.Value).ThenByDescending(s => s.Key).Select(s => (KeyValuePair<int, double>?)s).FirstOrDefault();

        var polishes = scores.Where(s => s.Key > PolishBase).ToList();
        var top = polishes.Count > 0 ? polishes.Max(s => s.Value) : double.NaN;
        var polish = polishes.Where(s => s.Value >= top - epochSlack)
            .OrderByDescending(s => Polish(s.Key).Epoch).ThenByDescending(s => s.Value).ThenByDescending(s => s.Key)
            .Select(s => (KeyValuePair<int, double>?)s).FirstOrDefault();
        var iteration = Best(scores.Where(s => s.Key <= PolishBase));
        return polish is null ? iteration!.Value.Key
            : iteration is null || polish.Value.Value >= iteration.Value.Value - tolerance ? polish.Value.Key
            : iteration.Value.Key;
    }
}
