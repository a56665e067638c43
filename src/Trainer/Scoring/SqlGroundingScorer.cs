using System.Text.RegularExpressions;

namespace Tao.Trainer.Scoring;

/// <summary>
/// A label-free rule for text-to-SQL ("value linking"): every literal the query filters on — quoted strings and
/// numbers in comparisons — must appear in the question, a name of several words as a whole span ('kira n' is not
/// in "where does kira novak live?"). Execution cannot tell a query for the wrong customer from one
/// for the right customer (both run and return a city); the question can.
/// </summary>
internal sealed partial class SqlGroundingScorer : IVerifier
{
    public string Name => "sql_grounding";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var question = PromptQuestion.Of(group.Prompt).ToLowerInvariant();
        var words = WordsOf().Matches(question).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        return Task.FromResult(group.Candidates.Select(sql =>
        {
            var literals = Literal().Matches(sql).Select(m => m.Groups["s"].Success ? m.Groups["s"].Value.ToLowerInvariant() : m.Groups["n"].Value).ToList();
            if (literals.Count == 0)
            {
                return 1.0;
            }

            var grounded = literals.Count(l => l.Contains(' ') ? SubstringScorer.IsWholeSpan(question, l) : words.Contains(l));
            return (double)grounded / literals.Count;
        }).ToArray());
    }

    // A quoted string, or a number that follows a comparison operator.
    [GeneratedRegex(@"'(?<s>[^']*)'|(?:[=<>]\s*)(?<n>-?\d+(?:\.\d+)?)\b")]
    private static partial Regex Literal();

    [GeneratedRegex(@"[\p{L}\p{N}\.\-]+")]
    private static partial Regex WordsOf();
}
