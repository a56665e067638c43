namespace Tao.Trainer.Training;

/// <summary>
/// Which weights a round keeps, from their scores (label-free dev, or the caller's held-out measure). Iterations and the
/// polish's epochs are scored alike, but they are not alike: the polish trains on every target the iterations found,
/// to convergence, while an iteration's weights are a step on the way. Picking the single highest of a dozen noisy
/// scores would mostly pick noise (the winner's curse), so the best polish epoch is kept unless its score is below
/// the best iteration's by more than the score's own noise; without a polish, the best iteration. Ties go to the later.
/// </summary>
public static class KeptWeights
{
    /// <summary>Ids above this are polish epochs (id − PolishBase), the others iterations (0 = the starting weights).</summary>
    public const int PolishBase = 1000;

    public static int Choose(IReadOnlyDictionary<int, double> scores, double tolerance)
    {
        if (scores.Count == 0)
        {
            throw new ArgumentException("no weights were scored", nameof(scores));
        }

        static KeyValuePair<int, double>? Best(IEnumerable<KeyValuePair<int, double>> items) =>
            items.OrderByDescending(s => s.Value).ThenByDescending(s => s.Key).Select(s => (KeyValuePair<int, double>?)s).FirstOrDefault();

        var polish = Best(scores.Where(s => s.Key > PolishBase));
        var iteration = Best(scores.Where(s => s.Key <= PolishBase));
        return polish is null ? iteration!.Value.Key
            : iteration is null || polish.Value.Value >= iteration.Value.Value - tolerance ? polish.Value.Key
            : iteration.Value.Key;
    }
}
