namespace Tao.Trainer.Scoring;

/// <summary>
/// Several scorers as one: a weighted average ("the SQL runs" + "it agrees with the others" + "a judge likes it"), in
/// which required parts are also gates — a candidate that fails a verifier (scores below the part's minimum) scores 0
/// whatever the other parts say. Verifiers gate, softer signals such as agreement rank what passed: otherwise a wrong
/// answer the samples agree on can outscore a right one that appears once.
/// </summary>
internal sealed class CompositeScorer(IReadOnlyList<CompositeScorer.Part> parts) : IScorer
{
    /// <summary>A scorer, its weight in the average, and whether it gates (with the score it must reach).</summary>
    public sealed record Part(IScorer Scorer, double Weight = 1, bool Required = false, double Minimum = 1.0);

    public CompositeScorer(IReadOnlyList<(IScorer Scorer, double Weight)> weighted)
        : this(weighted.Select(p => new Part(p.Scorer, p.Weight)).ToList())
    {
    }

    public string Name => string.Join("+", parts.Select(p => $"{p.Weight:0.##}*{p.Scorer.Name}{(p.Required ? "!" : "")}"));

    public IReadOnlyList<Part> Parts => parts;

    public async Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var total = parts.Sum(p => p.Weight);
        var scores = new double[group.Candidates.Count];
        var failed = new bool[group.Candidates.Count];
        foreach (var part in parts)
        {
            var values = await part.Scorer.ScoreAsync(group, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < scores.Length; i++)
            {
                scores[i] += total > 0 ? part.Weight / total * values[i] : 0;
                failed[i] |= part.Required && values[i] < part.Minimum - 1e-9;
            }
        }

        return scores.Select((s, i) => failed[i] ? 0.0 : s).ToArray();
    }
}
