namespace Tao.Trainer.Scoring;

/// <summary>
/// The verifiers inside a scorer: a composite's required parts, or the scorer itself when it is a verifier. An answer
/// passes when every one of them accepts it scored alone — agreement and judges play no part.
/// </summary>
public sealed class VerifierGates
{
    private readonly IReadOnlyList<(IScorer Scorer, double Minimum)> _gates;

    private VerifierGates(IReadOnlyList<(IScorer, double)> gates) => _gates = gates;

    /// <summary>The gates of a scorer, or null when it has none (agreement or a judge alone decide it).</summary>
    public static VerifierGates? Of(IScorer scorer) => scorer switch
    {
        CompositeScorer composite when composite.Parts.Any(p => p.Required) =>
            new VerifierGates(composite.Parts.Where(p => p.Required).Select(p => (p.Scorer, p.Minimum)).ToList()),
        IVerifier verifier => new VerifierGates([(verifier, 1.0)]),
        _ => null,
    };

    public string Name => string.Join(" & ", _gates.Select(g => g.Scorer.Name));

    public async Task<bool> PassesAsync(string prompt, string answer, IReadOnlyDictionary<string, string>? context, CancellationToken cancellationToken)
    {
        foreach (var (scorer, minimum) in _gates)
        {
            var score = (await scorer.ScoreAsync(new ScoringGroup(prompt, [answer], context), cancellationToken).ConfigureAwait(false))[0];
            if (score < minimum - 1e-9)
            {
                return false;
            }
        }

        return true;
    }
}
