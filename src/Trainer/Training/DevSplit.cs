using System.Text.Json;
using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Training;

/// <summary>
/// Label-free best-iteration selection. A slice of the round's inputs is never trained on; after every iteration the
/// policy's greedy answer to each of them is recorded, with a few samples that join a pool shared by all iterations.
/// An iteration is worth its greedy answers' mean score, each scored in a group with the pool minus that iteration's
/// own samples: a model that agrees with itself (lower entropy) gains nothing from it.
/// </summary>
internal sealed class DevSplit(IReadOnlyList<TaskPrompt> prompts, TextTokenizer tokenizer, int samples, GenerationOptions generation)
{
    private readonly SortedDictionary<int, Answers> _records = [];

    public sealed record Answers(int Iteration, List<string> Greedy, List<List<string>> Samples);

    public IReadOnlyList<TaskPrompt> Prompts => prompts;

    public bool Has(int iteration) => _records.ContainsKey(iteration);

    public void Record(int iteration, LlamaForCausalLM policy)
    {
        if (prompts.Count == 0)
        {
            return;
        }

        var encoded = prompts.Select(p => tokenizer.EncodePrompt(p.Messages)).ToList();
        var generator = new TextGenerator(policy, tokenizer);
        var greedy = generator.Generate(encoded, generation with { Temperature = 0, SamplesPerPrompt = 1 });
        var sampled = samples > 0
            ? generator.Generate(encoded, generation with { SamplesPerPrompt = samples, Seed = generation.Seed + 7919UL * (ulong)(iteration + 1) })
            : [];
        _records[iteration] = new Answers(iteration, greedy.Select(g => g.Text.Trim()).ToList(),
            prompts.Select((_, i) => sampled.Where(s => s.PromptIndex == i).Select(s => s.Text.Trim()).ToList()).ToList());
    }

    /// <summary>
    /// Mean score of each recorded iteration's greedy answers (or only of the records in <paramref name="only"/>),
    /// against the pool of every other iteration's samples. Scores taken in one call share one pool and compare fairly;
    /// the pool grows with every record, so scores from different calls do not.
    /// </summary>
    public async Task<IReadOnlyDictionary<int, double>> ScoreAsync(IScorer scorer, CancellationToken cancellationToken, IReadOnlyCollection<int>? only = null) =>
        (await ScoreItemsAsync(scorer, cancellationToken, only)).ToDictionary(t => t.Key, t => t.Value.Length == 0 ? 0 : t.Value.Average());

    /// <summary>
    /// As <see cref="ScoreAsync"/>, each dev input's score on its own (in <see cref="Prompts"/> order), for paired
    /// comparisons of two records.
    /// </summary>
    public async Task<IReadOnlyDictionary<int, double[]>> ScoreItemsAsync(IScorer scorer, CancellationToken cancellationToken, IReadOnlyCollection<int>? only = null)
    {
        var items = _records.Keys.Where(k => only is null || only.Contains(k)).ToDictionary(k => k, _ => new double[prompts.Count]);
        for (var i = 0; i < prompts.Count; i++)
        {
            foreach (var (iteration, record) in _records.Where(r => items.ContainsKey(r.Key)))
            {
                var group = new List<string> { record.Greedy[i] };
                group.AddRange(_records.Where(r => r.Key != iteration).SelectMany(r => r.Value.Samples[i]));
                var scores = await scorer.ScoreAsync(new ScoringGroup(prompts[i].Text, group, prompts[i].Context), cancellationToken);
                items[iteration][i] = scores[0];
            }
        }

        return items;
    }

    public void Save(string path) =>
        File.WriteAllLines(path, _records.Values.Select(r => JsonSerializer.Serialize(r)));

    public void Load(string path)
    {
        if (File.Exists(path))
        {
            foreach (var record in File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Answers>(l)!))
            {
                _records[record.Iteration] = record;
            }
        }
    }
}
