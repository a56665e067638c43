namespace Tao.Trainer.Scoring;

/// <summary>
/// An extraction verifier: 1 when the answer is non-empty and appears verbatim in the given context (the document) as a
/// whole span — where the answer starts or ends with a letter or digit, the document's neighbouring character is not one.
/// A piece of a field is not an extraction of it: PO-17 and INV-46 are inside PO-1727 and INV-4695, and on the docqa
/// benchmark such cut-off spans passed the plain substring check and then the field's format, so when a group had no
/// whole answer a cut-off one became its training target (5 % of the tuned model's held-out answers were cut-off fields).
/// </summary>
internal sealed class SubstringScorer(string contextKey = "document") : IVerifier
{
    public string Name => $"substring({contextKey})";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var document = Document(group.Context, group.Prompt, contextKey);
        return Task.FromResult(group.Candidates.Select(c => IsWholeSpan(document, c.Trim()) ? 1.0 : 0.0).ToArray());
    }

    /// <summary>
    /// The text answers must be spans of: the input's context value under <paramref name="key"/>, else the prompt's own
    /// text. Grounded sampling (<see cref="Generation.GenerationOptions.GroundIn"/>) reads the same text this check does.
    /// </summary>
    public static string Document(IReadOnlyDictionary<string, string>? context, string promptText, string key) =>
        context is not null && context.TryGetValue(key, out var value) ? value : promptText;

    /// <summary>Whether <paramref name="answer"/> occurs in <paramref name="document"/> at least once with word boundaries at both ends.</summary>
    public static bool IsWholeSpan(string document, string answer)
    {
        if (answer.Length == 0)
        {
            return false;
        }

        var openStart = char.IsLetterOrDigit(answer[0]);
        var openEnd = char.IsLetterOrDigit(answer[^1]);
        for (var at = document.IndexOf(answer, StringComparison.Ordinal); at >= 0;
             at = document.IndexOf(answer, at + 1, StringComparison.Ordinal))
        {
            var end = at + answer.Length;
            var startsClean = !openStart || at == 0 || !char.IsLetterOrDigit(document[at - 1]);
            var endsClean = !openEnd || end == document.Length || !char.IsLetterOrDigit(document[end]);
            if (startsClean && endsClean)
            {
                return true;
            }
        }

        return false;
    }
}
