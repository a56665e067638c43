namespace Tao.Trainer.Scoring;

/// <summary>A weighted average of scorers: e.g. "the SQL runs" + "it agrees with the others" + "a judge likes it".</summary>
public sealed class CompositeScorer(IReadOnlyList<(IScorer Scorer, double Weight)> parts) : IScorer
{
    public string Name => string.Join("+", parts.Select(p => $"{p.Weight:0.##}*{p.Scorer.Name}"));

    public IReadOnlyList<(IScorer Scorer, double Weight)> Parts => parts;

    public async Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var total = parts.Sum(p => p.Weight);
        var scores = new double[group.Candidates.Count];
        foreach (var (scorer, weight) in parts)
        {
            var part = await scorer.ScoreAsync(group, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < scores.Length; i++)
            {
                scores[i] += weight / total * part[i];
            }
        }

        return scores;
    }
}
