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
    /// <param name="documents">Per prompt, the document its answers must be whole spans of (<see cref="GroundedSpans"/>), or null.</param>
    public IReadOnlyList<GeneratedSequence> Generate(IReadOnlyList<int[]> prompts, GenerationOptions options, IProgress<int>? progress, Action<int, int>? onToken,
        IReadOnlyList<string?>? documents = null)
    {
        var grounded = documents?.Select(d => d is null ? null : GroundedSpans.For(d, tokenizer)).ToArray();
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
                    onToken is null ? null : (row, token) => onToken(offset + row, token), grounded is null ? null : [.. batch.Select(j => grounded[j.Prompt])]);
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

    private List<(int[] Tokens, float[] Logprobs, string Text, string Finish)> GenerateBatch(
        List<int[]> prompts, GenerationOptions options, torch.Generator generator, Action<int, int>? onToken, GroundedSpans?[]? grounded)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var count = prompts.Count;

        // Samples of the same prompt share its prefill: the prompt is encoded once and its cache rows are repeated.
        // With N candidates per prompt this is N times less prompt work (most of the work for long prompts).
        var distinct = new List<int[]>();
        var rowOf = new long[count];
        var seen = new Dictionary<int[], int>(ReferenceEqualityComparer.Instance);
        for (var r = 0; r < count; r++)
        {
            if (!seen.TryGetValue(prompts[r], out var index))
            {
                index = distinct.Count;
                seen[prompts[r]] = index;
                distinct.Add(prompts[r]);
            }

            rowOf[r] = index;
        }

        var shared = options.UseCache && distinct.Count < count;
        var encoded = shared ? distinct : prompts;
        var width = encoded.Max(p => p.Length);
        var ids = new long[encoded.Count * width];
        var mask = new long[encoded.Count * width];
        for (var r = 0; r < encoded.Count; r++)
        {
            var offset = width - encoded[r].Length;
            for (var c = 0; c < width; c++)
            {
                ids[r * width + c] = c < offset ? tokenizer.PadId : encoded[r][c - offset];
                mask[r * width + c] = c < offset ? 0 : 1;
            }
        }

        var device = model.Device;
        var inputIds = tensor(ids, [encoded.Count, width], device: device);
        var attention = tensor(mask, [encoded.Count, width], device: device);
        var positions = attention.cumsum(1).sub(Scalars.One).clamp_min(Scalars.Zero);
        var tokens = Enumerable.Range(0, count).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, count).Select(_ => new List<float>()).ToArray();
        var finish = new string?[count];
        var texts = new string?[count];
        var stopIds = tokenizer.StopIds.ToHashSet();

        // Tensor row -> job row, or -1 once that job has finished. Finished rows stay in the batch (their tokens are
        // ignored) until a quarter of the rows are finished: dropping rows copies the whole cache, so it is batched.
        var slots = Enumerable.Range(0, count).ToList();
        var live = count;
        using var cache = options.UseCache ? new KvCache(model.Config.NumHiddenLayers, options.MaxNewTokens) : null;
        var logits = model.LastLogits(new CausalLMInput(inputIds, attention, positions, cache));
        if (shared)
        {
            var expand = tensor(rowOf, device: device);
            cache!.Select(expand);
            logits = logits.index_select(0, expand);
            attention = attention.index_select(0, expand);
            positions = positions.index_select(0, expand);
        }

        var fullIds = inputIds;
        var lastPositions = positions[.., -1];
        for (var step = 0; step < options.MaxNewTokens && live > 0; step++)
        {
            var before = new[] { logits, attention, lastPositions, fullIds };
            using var stepScope = NewDisposeScope();
            var (next, chosenLogProbs) = Sample(logits, options, generator, grounded is null ? null : GroundingMask(grounded, slots, tokens, logits.shape[^1], device));
            var nextIds = next.data<long>().ToArray();
            var nextLogProbs = chosenLogProbs.data<float>().ToArray();
            for (var i = 0; i < slots.Count; i++)
            {
                var row = slots[i];
                if (row < 0)
                {
                    continue;
                }

                var token = (int)nextIds[i];
                if (stopIds.Contains(token))
                {
                    finish[row] = "stop";
                    slots[i] = -1;
                    live--;
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
                        slots[i] = -1;
                        live--;
                    }
                }
            }

            if (live == 0 || step + 1 == options.MaxNewTokens)
            {
                break;
            }

            var fed = next.unsqueeze(1);
            if (live <= slots.Count * 3 / 4)
            {
                var keepRows = Enumerable.Range(0, slots.Count).Where(i => slots[i] >= 0).Select(i => (long)i).ToArray();
                var keep = tensor(keepRows, device: device);
                fed = fed.index_select(0, keep);
                attention = attention.index_select(0, keep);
                lastPositions = lastPositions.index_select(0, keep);
                fullIds = cache is null ? fullIds.index_select(0, keep) : fullIds;
                cache?.Select(keep);
                slots = keepRows.Select(i => slots[(int)i]).ToList();
            }

            attention = cat([attention, ones(slots.Count, 1, ScalarType.Int64, device)], 1);
            lastPositions = lastPositions.add(Scalars.One);
            if (cache is not null)
            {
                logits = model.LastLogits(new CausalLMInput(fed, attention, lastPositions.unsqueeze(1), cache));
            }
            else
            {
                // Without a cache the whole sequence is run again: the reference the cached path must equal.
                fullIds = cat([fullIds, fed], 1);
                var fullPositions = attention.cumsum(1).sub(Scalars.One).clamp_min(Scalars.Zero);
                logits = model.LastLogits(new CausalLMInput(fullIds, attention, fullPositions));
            }

            foreach (var kept in new[] { logits, attention, lastPositions, fullIds }.Where(t => !before.Contains(t, ReferenceEqualityComparer.Instance)))
            {
                kept.MoveToOuterDisposeScope(); // made in this step and needed by the next
            }
        }

        foreach (var row in slots.Where(r => r >= 0))
        {
            finish[row] ??= "length";
        }

        return Enumerable.Range(0, count).Select(r =>
            (tokens[r].ToArray(), logProbs[r].ToArray(), texts[r] ?? tokenizer.Decode(tokens[r]), finish[r] ?? "length")).ToList();
    }

    /// <summary>
    /// Per tensor row, 0 for the tokens a grounded row may draw next and -inf for the others (a row's stop ids only where
    /// its answer is a whole span); null when no live row is grounded.
    /// </summary>
    private Tensor? GroundingMask(GroundedSpans?[] grounded, List<int> slots, List<int>[] tokens, long vocabulary, Device device)
    {
        float[]? mask = null;
        for (var i = 0; i < slots.Count; i++)
        {
            if (slots[i] < 0 || grounded[slots[i]] is not { } spans)
            {
                continue;
            }

            var (next, canStop) = spans.Allowed(tokenizer.Decode(tokens[slots[i]]));
            if (next.Count == 0 && !canStop)
            {
                continue; // nothing grounded follows (cannot happen after a grounded prefix): this row samples freely
            }

            mask ??= new float[slots.Count * vocabulary];
            var row = mask.AsSpan((int)(i * vocabulary), (int)vocabulary);
            row.Fill(float.NegativeInfinity);
            foreach (var id in next.Where(id => id < vocabulary))
            {
                row[id] = 0;
            }

            foreach (var id in canStop ? tokenizer.StopIds : [])
            {
                row[id] = 0;
            }
        }

        return mask is null ? null : tensor(mask, [slots.Count, vocabulary], device: device);
    }

    /// <summary>
    /// Samples one token per row (among those <paramref name="mask"/> leaves at 0, when given); returns the tokens and
    /// their log-probabilities under the unmodified model.
    /// </summary>
    private static (Tensor Tokens, Tensor Logprobs) Sample(Tensor logits, GenerationOptions options, torch.Generator generator, Tensor? mask = null)
    {
        var logits32 = logits.to_type(ScalarType.Float32);
        var modelLogProbs = nn.functional.log_softmax(logits32, -1);
        if (mask is not null)
        {
            logits32 = logits32.Plus(mask);
        }
        Tensor chosen;
        if (options.Temperature <= 0)
        {
            chosen = logits32.argmax(-1);
        }
        else
        {
            using var temperature = options.Temperature.ToScalar(); // held over the call (see Scalars)
            var probs = nn.functional.softmax(logits32.div(temperature), -1);
            if (options.TopP < 1.0)
            {
                var (sorted, order) = probs.sort(-1, descending: true);
                var cumulative = sorted.cumsum(-1);
                var drop = (cumulative - sorted).gt(options.TopP);
                sorted = sorted.masked_fill(drop, Scalars.Zero);
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
