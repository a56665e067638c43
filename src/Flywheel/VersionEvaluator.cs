using Tao.Storage;
using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;

namespace Tao.Flywheel;

/// <summary>
/// Compares a candidate with the live version item by item, so the promotion rule can pair them: on held-out captured
/// inputs, whether each greedy answer passes the task's verifiers (checked alone, no agreement pool); on a labelled set,
/// whether each answer is right (exact match, or equal SQL results when the example names a database).
/// </summary>
public sealed class VersionEvaluator(ClickHouseStore store)
{
    /// <summary>Per held-out input: (live passes, candidate passes); null when the task's scorer has no verifiers.</summary>
    public async Task<IReadOnlyList<(bool Live, bool Candidate)>?> VerifiedAsync(LlamaForCausalLM live, LlamaForCausalLM candidate, TextTokenizer tokenizer,
        IReadOnlyList<TaskPrompt> prompts, IScorer scorer, int maxTokens, CancellationToken cancellationToken)
    {
        if (VerifierGates.Of(scorer) is not { } gates || prompts.Count == 0)
        {
            return null;
        }

        var liveAnswers = Greedy(live, tokenizer, prompts.Select(p => p.Messages).ToList(), maxTokens);
        var candidateAnswers = Greedy(candidate, tokenizer, prompts.Select(p => p.Messages).ToList(), maxTokens);
        var pairs = new List<(bool, bool)>(prompts.Count);
        for (var i = 0; i < prompts.Count; i++)
        {
            pairs.Add((await gates.PassesAsync(prompts[i].Text, liveAnswers[i], prompts[i].Context, cancellationToken),
                await gates.PassesAsync(prompts[i].Text, candidateAnswers[i], prompts[i].Context, cancellationToken)));
        }

        return pairs;
    }

    /// <summary>Per labelled example: (live right, candidate right).</summary>
    public async Task<IReadOnlyList<(bool Live, bool Candidate)>> LabelledAsync(LlamaForCausalLM live, LlamaForCausalLM candidate, TextTokenizer tokenizer,
        IReadOnlyList<LabelledEvalExample> examples, int maxTokens, CancellationToken cancellationToken)
    {
        var liveRight = await RightAsync(live, tokenizer, examples, maxTokens, cancellationToken);
        var candidateRight = await RightAsync(candidate, tokenizer, examples, maxTokens, cancellationToken);
        return liveRight.Zip(candidateRight).ToList();
    }

    /// <summary>Accuracy of one version on a labelled set.</summary>
    public async Task<double> LabelledAsync(LlamaForCausalLM model, TextTokenizer tokenizer, IReadOnlyList<LabelledEvalExample> examples, int maxTokens,
        CancellationToken cancellationToken)
    {
        var right = await RightAsync(model, tokenizer, examples, maxTokens, cancellationToken);
        return right.Count == 0 ? 0 : (double)right.Count(r => r) / right.Count;
    }

    /// <summary>Per labelled example, whether the model's greedy answer is right.</summary>
    public async Task<List<bool>> RightAsync(LlamaForCausalLM model, TextTokenizer tokenizer, IReadOnlyList<LabelledEvalExample> examples, int maxTokens,
        CancellationToken cancellationToken)
    {
        var answers = Greedy(model, tokenizer, examples.Select(e => e.Messages).ToList(), maxTokens);
        var sql = new SqlExecutionScorer(store);
        var right = new List<bool>(examples.Count);
        for (var i = 0; i < examples.Count; i++)
        {
            var answer = answers[i];
            if (examples[i].Context.TryGetValue(SqlExecutionScorer.DatabaseKey, out var database))
            {
                var expected = await sql.RunAsync(database, examples[i].Expected, cancellationToken);
                var actual = await sql.RunAsync(database, answer, cancellationToken);
                right.Add(expected is not null && expected == actual);
            }
            else
            {
                right.Add(string.Equals(answer.TrimEnd('.'), examples[i].Expected.Trim(), StringComparison.Ordinal));
            }
        }

        return right;
    }

    private static List<string> Greedy(LlamaForCausalLM model, TextTokenizer tokenizer, IReadOnlyList<IReadOnlyList<ChatMessage>> prompts, int maxTokens) =>
        prompts.Count == 0 ? [] : new TextGenerator(model, tokenizer).Generate(prompts.Select(tokenizer.EncodePrompt).ToList(),
            new GenerationOptions { Temperature = 0, MaxNewTokens = maxTokens, BatchSize = 512 }).Select(g => g.Text.Trim()).ToList();
}
