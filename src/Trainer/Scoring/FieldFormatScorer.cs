using System.Text.RegularExpressions;

namespace Tao.Trainer.Scoring;

/// <summary>
/// Custom rules keyed by the question: when the question (the prompt's last line, see <see cref="PromptQuestion"/>)
/// matches a question pattern, the answer must match that rule's answer pattern (an invoice number looks like
/// INV-12345, a date like 2025-03-14). The first matching rule applies; questions no rule covers score 1.
/// </summary>
internal sealed class FieldFormatScorer(IReadOnlyList<(string QuestionPattern, string AnswerPattern)> rules) : IVerifier
{
    private readonly (Regex Question, Regex Answer)[] _rules = rules
        .Select(r => (new Regex(r.QuestionPattern, RegexOptions.IgnoreCase | RegexOptions.Compiled, TimeSpan.FromMilliseconds(200)),
            new Regex(r.AnswerPattern, RegexOptions.Compiled, TimeSpan.FromMilliseconds(200))))
        .ToArray();

    public string Name => "field_format";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var question = PromptQuestion.Of(group.Prompt);
        var rule = _rules.FirstOrDefault(r => r.Question.IsMatch(question));
        return Task.FromResult(group.Candidates.Select(c => rule.Answer is null || rule.Answer.IsMatch(c.Trim()) ? 1.0 : 0.0).ToArray());
    }
}
