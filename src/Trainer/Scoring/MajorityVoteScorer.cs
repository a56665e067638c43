using System.Text.RegularExpressions;

namespace Tao.Trainer.Scoring;

/// <summary>
/// Self-consistency: candidates are reduced to a normalised answer (optionally the capture of a pattern, e.g. the
/// final number), and each scores the share of the group that gave the same answer. Helps only when the base model
/// is already right more often than it is wrong in any one way; see the trainer's reward-hacking guard.
/// </summary>
internal sealed class MajorityVoteScorer(string? answerPattern = null) : IScorer
{
    private readonly Regex? _answer = answerPattern is null ? null : new Regex(answerPattern, RegexOptions.Compiled, TimeSpan.FromMilliseconds(200));

    public string Name => "majority";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var answers = group.Candidates.Select(Normalise).ToList();
        var counts = answers.Where(a => a.Length > 0).GroupBy(a => a, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return Task.FromResult(answers.Select(a => a.Length == 0 ? 0.0 : (double)counts[a] / answers.Count).ToArray());
    }

    public string Normalise(string candidate)
    {
        var text = candidate;
        if (_answer is not null)
        {
            var match = _answer.Match(candidate);
            text = !match.Success ? string.Empty : match.Groups.Count > 1 ? match.Groups[1].Value : match.Value;
        }

        return Regex.Replace(text.Trim().ToLowerInvariant(), @"\s+", " ").TrimEnd('.', ';');
    }
}
