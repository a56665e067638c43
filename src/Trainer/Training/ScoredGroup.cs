using Tao.Trainer.Generation;

namespace Tao.Trainer.Training;

/// <summary>One prompt's sampled candidates with their label-free scores.</summary>
public sealed record ScoredGroup(TaskPrompt Prompt, IReadOnlyList<Candidate> Candidates, double[] Scores)
{
    private const double Tie = 1e-9;

    public double Best => Scores.Max();

    /// <summary>All candidates scored alike: group-relative training learns nothing from it.</summary>
    public bool Flat => Best - Scores.Min() <= Tie;

    /// <summary>
    /// Share of the candidates that passed (scored above 0: no verifier gate rejected them) which are at the best score:
    /// how much the answers that survive verification agree on the pick. Agreement-based scorers give the same answer
    /// the same score, so this is the winning answer's share among the verified ones; when only one answer survives the
    /// gates it is 1 however few samples found it.
    /// </summary>
    public double TopShare
    {
        get
        {
            var passed = Scores.Count(s => s > Tie);
            return passed == 0 ? 0 : (double)Scores.Count(s => s >= Best - Tie && s > Tie) / passed;
        }
    }

    /// <summary>How many candidates gave the pick (the most frequent text at the best score; 0 when nothing passed).</summary>
    public int TopCount => Best > Tie ? AtBestByText().First().Count() : 0;

    /// <summary>The distinct candidates at the best score, most frequent text first.</summary>
    public IReadOnlyList<Candidate> Top => AtBestByText().Select(g => g.First()).ToList();

    private IEnumerable<IGrouping<string, Candidate>> AtBestByText() => Candidates.Where((_, i) => Scores[i] >= Best - Tie)
        .GroupBy(c => c.Text, StringComparer.Ordinal).OrderByDescending(g => g.Count());

    /// <summary>The lowest-scoring candidate whose text differs from every top one (DPO's rejected answer), if any.</summary>
    public Candidate? Worst
    {
        get
        {
            var top = Top.Select(c => c.Text).ToHashSet(StringComparer.Ordinal);
            return Candidates.Select((c, i) => (c, s: Scores[i])).Where(x => !top.Contains(x.c.Text) && x.s < Best - Tie).OrderBy(x => x.s).Select(x => x.c).FirstOrDefault();
        }
    }
}
