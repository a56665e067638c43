namespace Tao.Trainer.Scoring;

/// <summary>An extraction verifier: 1 when the answer is non-empty and appears verbatim in the given context (the document).</summary>
internal sealed class SubstringScorer(string contextKey = "document") : IVerifier
{
    public string Name => $"substring({contextKey})";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var document = group.ContextValue(contextKey) ?? group.Prompt;
        return Task.FromResult(group.Candidates.Select(c =>
        {
            var answer = c.Trim();
            return answer.Length > 0 && document.Contains(answer, StringComparison.Ordinal) ? 1.0 : 0.0;
        }).ToArray());
    }
}
