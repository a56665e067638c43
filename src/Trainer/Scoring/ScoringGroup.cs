namespace Tao.Trainer.Scoring;

/// <summary>
/// Candidate answers to one prompt, scored together: agreement and group-relative scorers need the whole group.
/// Context carries task facts a verifier may use (the database to run SQL on, the document an answer must come from).
/// </summary>
public sealed record ScoringGroup(string Prompt, IReadOnlyList<string> Candidates, IReadOnlyDictionary<string, string>? Context = null)
{
    public string? ContextValue(string key) => Context is not null && Context.TryGetValue(key, out var value) ? value : null;
}
