using System.Text.RegularExpressions;

namespace Tao.Trainer.Scoring;

/// <summary>A rule: 1 when the candidate matches the pattern (or, with mustMatch false, when it does not).</summary>
internal sealed class RegexScorer(string pattern, bool mustMatch = true) : IVerifier
{
    private readonly Regex _regex = new(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(200));

    public string Name => mustMatch ? $"regex({pattern})" : $"not-regex({pattern})";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken) =>
        Task.FromResult(group.Candidates.Select(c => Matches(c) == mustMatch ? 1.0 : 0.0).ToArray());

    private bool Matches(string candidate)
    {
        try
        {
            return _regex.IsMatch(candidate);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
