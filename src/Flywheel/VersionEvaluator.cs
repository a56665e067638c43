using Tao.Storage;
using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Flywheel;

/// <summary>
/// Compares a candidate with the current version. Label-free: on held-out recent inputs, both versions' answers are
/// scored together with a few samples of each by the task's scorer (so agreement-based scorers see a real group).
/// Labelled: accuracy on a user-supplied set (exact match, or equal SQL results when the example names a database).
/// </summary>
public sealed class VersionEvaluator(ClickHouseStore store)
{
    public async Task<(double Current, double Candidate)> LabelFreeAsync(LlamaForCausalLM current, LlamaForCausalLM candidate, TextTokenizer tokenizer,
        IReadOnlyList<TaskPrompt> prompts, IScorer scorer, int samples, int maxTokens, CancellationToken cancellationToken)
    {
        if (prompts.Count == 0)
        {
            return (0, 0);
        }

        var encoded = prompts.Select(p => tokenizer.EncodePrompt(p.Messages)).ToList();
        var greedy = new GenerationOptions { Temperature = 0, MaxNewTokens = maxTokens, BatchSize = 128 };
        var sampled = new GenerationOptions { Temperature = 1.0, MaxNewTokens = maxTokens, SamplesPerPrompt = samples, BatchSize = 128, Seed = 17 };
        var currentGreedy = new TextGenerator(current, tokenizer).Generate(encoded, greedy);
        var candidateGreedy = new TextGenerator(candidate, tokenizer).Generate(encoded, greedy);
        var currentSamples = samples > 0 ? new TextGenerator(current, tokenizer).Generate(encoded, sampled) : [];
        var candidateSamples = samples > 0 ? new TextGenerator(candidate, tokenizer).Generate(encoded, sampled) : [];
        double currentTotal = 0, candidateTotal = 0;
        for (var i = 0; i < prompts.Count; i++)
        {
            var texts = new List<string> { currentGreedy[i].Text.Trim(), candidateGreedy[i].Text.Trim() };
            texts.AddRange(currentSamples.Where(s => s.PromptIndex == i).Select(s => s.Text.Trim()));
            texts.AddRange(candidateSamples.Where(s => s.PromptIndex == i).Select(s => s.Text.Trim()));
            var scores = await scorer.ScoreAsync(new ScoringGroup(prompts[i].Text, texts, prompts[i].Context), cancellationToken);
            currentTotal += scores[0];
            candidateTotal += scores[1];
        }

        return (currentTotal / prompts.Count, candidateTotal / prompts.Count);
    }

    public async Task<double> LabelledAsync(LlamaForCausalLM model, TextTokenizer tokenizer, IReadOnlyList<LabelledEvalExample> examples, int maxTokens,
        CancellationToken cancellationToken)
    {
        if (examples.Count == 0)
        {
            return 0;
        }

        var answers = new TextGenerator(model, tokenizer).Generate(examples.Select(e => tokenizer.EncodePrompt(e.Messages)).ToList(),
            new GenerationOptions { Temperature = 0, MaxNewTokens = maxTokens, BatchSize = 128 });
        var sql = new SqlExecutionScorer(store);
        var correct = 0;
        for (var i = 0; i < examples.Count; i++)
        {
            var answer = answers[i].Text.Trim();
            if (examples[i].Context.TryGetValue(SqlExecutionScorer.DatabaseKey, out var database))
            {
                var expected = await sql.RunAsync(database, examples[i].Expected, cancellationToken);
                var actual = await sql.RunAsync(database, answer, cancellationToken);
                correct += expected is not null && expected == actual ? 1 : 0;
            }
            else
            {
                correct += string.Equals(answer.TrimEnd('.'), examples[i].Expected.Trim(), StringComparison.Ordinal) ? 1 : 0;
            }
        }

        return (double)correct / examples.Count;
    }
}
