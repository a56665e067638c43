using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Generation;

/// <summary>
/// Batched sampling with a KV cache: prompts are left-padded into a batch, the prompt is encoded once, then one token
/// per step for every sequence still running; finished sequences leave the batch. Deterministic for a given seed.
/// </summary>
public sealed class TextGenerator(LlamaForCausalLM model, TextTokenizer tokenizer)
{
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<int[]> prompts, GenerationOptions options, IProgress<int>? progress = null) =>
        Generate(prompts, options, progress, null);

    /// <summary>Generates, calling <paramref name="onToken"/> (job index, token) for every token kept, as it is produced (streaming).</summary>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<int[]> prompts, GenerationOptions options, IProgress<int>? progress, Action<int, int>? onToken)
    {
        var jobs = new List<(int Prompt, int Sample)>();
        for (var p = 0; p < prompts.Count; p++)
        {
            for (var s = 0; s < options.SamplesPerPrompt; s++)
            {
                jobs.Add((p, s));
            }
        }

        var results = new GeneratedSequence[jobs.Count];
        var generator = new torch.Generator(options.Seed);
        var wasTraining = model.training;
        model.eval();
        try
        {
            for (var start = 0; start < jobs.Count; start += options.BatchSize)
            {
                var batch = jobs.Skip(start).Take(options.BatchSize).ToList();
                var offset = start;
                var outputs = GenerateBatch(batch.Select(j => prompts[j.Prompt]).ToList(), options, generator,
                    onToken is null ? null : (row, token) => onToken(offset + row, token));
                for (var i = 0; i < batch.Count; i++)
                {
                    var (tokens, logProbs, text, finish) = outputs[i];
                    results[start + i] = new GeneratedSequence(batch[i].Prompt, batch[i].Sample, prompts[batch[i].Prompt], tokens, logProbs, text, finish);
                }

                progress?.Report(Math.Min(jobs.Count, start + batch.Count));
            }
        }
        finally
        {
            model.train(wasTraining);
        }

        return results;
    }

    private List<(int[] Tokens, float[] LogProbs, string Text, string Finish)> GenerateBatch(
        List<int[]> prompts, GenerationOptions options, torch.Generator generator, Action<int, int>? onToken)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var count = prompts.Count;
        var width = prompts.Max(p => p.Length);
        var ids = new long[count * width];
        var mask = new long[count * width];
        for (var r = 0; r < count; r++)
        {
            var offset = width - prompts[r].Length;
            for (var c = 0; c < width; c++)
            {
                ids[r * width + c] = c < offset ? tokenizer.PadId : prompts[r][c - offset];
                mask[r * width + c] = c < offset ? 0 : 1;
            }
        }

        var device = model.Device;
        var inputIds = tensor(ids, [count, width], device: device);
        var attention = tensor(mask, [count, width], device: device);
        var positions = (attention.cumsum(1) - 1).clamp_min(0);
        var tokens = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, count).Select(_ => new List<float>()).ToArray();
        var finish = new string?[count];
        var texts = new string?[count];
        var stopIds = tokenizer.StopIds.ToHashSet();
        var active = Enumerable.Range(0, count).ToList();

        using var cache = options.UseCache ? new KvCache(model.Config.NumHiddenLayers) : null;
        var logits = model.LastLogits(new CausalLMInput(inputIds, attention, positions, cache));
        var fullIds = inputIds;
        var lastPositions = positions[.., -1];
        for (var step = 0; step < options.MaxNewTokens && active.Count > 0; step++)
        {
            var (next, chosenLogProbs) = Sample(logits, options, generator);
            var nextIds = next.data<long>().ToArray();
            var nextLogProbs = chosenLogProbs.data<float>().ToArray();
            var stillActive = new List<int>();
            var keepRows = new List<long>();
            for (var i = 0; i < active.Count; i++)
            {
                var row = active[i];
                var token = (int)nextIds[i];
                if (stopIds.Contains(token))
                {
                    finish[row] = "stop";
                    continue;
                }

                tokens[row].Add(token);
                logProbs[row].Add(nextLogProbs[i]);
                onToken?.Invoke(row, token);
                if (options.Stop.Count > 0)
                {
                    var text = tokenizer.Decode(tokens[row]);
                    var hit = options.Stop.Select(s => (Stop: s, At: text.IndexOf(s, StringComparison.Ordinal))).Where(h => h.At >= 0).OrderBy(h => h.At).FirstOrDefault();
                    if (hit.Stop is not null)
                    {
                        texts[row] = text[..hit.At];
                        finish[row] = "stop";
                        continue;
                    }
                }

                stillActive.Add(row);
                keepRows.Add(i);
            }

            if (stillActive.Count == 0 || step + 1 == options.MaxNewTokens)
            {
                foreach (var row in stillActive)
                {
                    finish[row] = "length";
                }

                break;
            }

            var keep = tensor(keepRows.ToArray(), device: device);
            var kept = next.index_select(0, keep).unsqueeze(1);
            attention = cat([attention.index_select(0, keep), ones(keepRows.Count, 1, ScalarType.Int64, device)], 1);
            lastPositions = lastPositions.index_select(0, keep) + 1;
            if (cache is not null)
            {
                if (keepRows.Count != active.Count)
                {
                    cache.Select(keep);
                }

                logits = model.LastLogits(new CausalLMInput(kept, attention, lastPositions.unsqueeze(1), cache));
            }
            else
            {
                // Without a cache the whole sequence is run again: the reference the cached path must equal.
                fullIds = cat([fullIds.index_select(0, keep), kept], 1);
                var fullPositions = (attention.cumsum(1) - 1).clamp_min(0);
                logits = model.LastLogits(new CausalLMInput(fullIds, attention, fullPositions));
            }

            active = stillActive;
        }

        return Enumerable.Range(0, count).Select(r =>
            (tokens[r].ToArray(), logProbs[r].ToArray(), texts[r] ?? tokenizer.Decode(tokens[r]), finish[r] ?? "length")).ToList();
    }

    /// <summary>Samples one token per row; returns the tokens and their log-probabilities under the unmodified model.</summary>
    private static (Tensor Tokens, Tensor LogProbs) Sample(Tensor logits, GenerationOptions options, torch.Generator generator)
    {
        var logits32 = logits.to_type(ScalarType.Float32);
        var modelLogProbs = nn.functional.log_softmax(logits32, -1);
        Tensor chosen;
        if (options.Temperature <= 0)
        {
            chosen = logits32.argmax(-1);
        }
        else
        {
            var probs = nn.functional.softmax(logits32 / options.Temperature, -1);
            if (options.TopP < 1.0)
            {
                var (sorted, order) = probs.sort(-1, descending: true);
                var cumulative = sorted.cumsum(-1);
                var drop = (cumulative - sorted).gt(options.TopP);
                sorted = sorted.masked_fill(drop, 0);
                var pick = multinomial(sorted / sorted.sum(-1, keepdim: true), 1, false, generator);
                chosen = order.gather(-1, pick).squeeze(-1);
            }
            else
            {
                chosen = multinomial(probs, 1, false, generator).squeeze(-1);
            }
        }

        return (chosen, modelLogProbs.gather(-1, chosen.unsqueeze(-1)).squeeze(-1));
    }
}
