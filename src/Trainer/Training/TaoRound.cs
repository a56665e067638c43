using System.Diagnostics;
using System.Text.Json;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Generation;
using Tao.Trainer.Lora;
using Tao.Trainer.Model;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;
using static TorchSharp.torch;

namespace Tao.Trainer.Training;

/// <summary>
/// One TAO round on inputs only: for each iteration, sample candidates for the prompts, score them without labels,
/// drop groups that carry no signal (all scores equal), and update the policy toward the better candidates (GRPO,
/// Dr. GRPO, DPO or best-of-N). After every iteration the held-out quality is measured; the best iteration's weights are
/// kept, and the round stops when the reward keeps rising while held-out quality falls (reward hacking).
/// </summary>
public sealed class TaoRound(
    LlamaForCausalLM policy, TextTokenizer tokenizer, IScorer scorer, TaoRoundOptions options,
    ICandidateSource? source = null, string? folder = null, Action<RoundProgress>? progress = null)
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
    private readonly List<RoundMetrics> _metrics = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _trainingTokens;
    private TimeSpan _trainingTime;
    private int _step;

    /// <summary>Called after each iteration's update (diagnostics only: nothing it returns steers the round).</summary>
    public Func<int, LlamaForCausalLM, CancellationToken, Task>? AfterIteration { get; init; }

    /// <summary>LoRA adapters of the policy, when the round trains adapters.</summary>
    public IReadOnlyDictionary<string, LoraLinear>? Adapters { get; private set; }

    public async Task<TaoRoundResult> RunAsync(
        IReadOnlyList<TaskPrompt> prompts, Func<LlamaForCausalLM, CancellationToken, Task<double>>? heldOut, CancellationToken cancellationToken)
    {
        if (options.Lora is { } lora)
        {
            Adapters = LoraAdapters.Apply(policy, lora);
        }

        var state = LoadState();
        using var reference = options.KlBeta > 0 || options.Objective == TaoObjective.Dpo ? ReferenceModel() : null;
        var trainable = policy.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = optim.AdamW(trainable, lr: options.LearningRate, weight_decay: 0.0);
        var candidates = source ?? new LocalCandidateSource(policy, tokenizer);

        Dictionary<string, Tensor>? best = null;
        var bestIteration = 0;
        double? bestHeldOut = null;
        if (heldOut is not null)
        {
            bestHeldOut = await heldOut(policy, cancellationToken);
            Log(new RoundMetrics { Event = "evaluate", Iteration = 0, HeldOut = bestHeldOut, ElapsedSeconds = Elapsed, Note = "before tuning" });
        }

        best = Snapshot();
        var rising = 0;
        var lastReward = double.NaN;
        var stopReason = "completed all iterations";
        var guarded = false;
        for (var iteration = state.CompletedIterations + 1; iteration <= options.Iterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = PromptsFor(prompts, iteration);
            progress?.Invoke(new RoundProgress("generate", iteration, options.Iterations, 0, batch.Count * options.Candidates));
            var generationOptions = options.Generation with { Seed = options.Seed * 1000 + (ulong)iteration };
            var sampled = await candidates.GenerateAsync(batch, options.Candidates, generationOptions, cancellationToken);

            progress?.Invoke(new RoundProgress("score", iteration, options.Iterations, 0, batch.Count));
            var groups = new List<(TaskPrompt Prompt, IReadOnlyList<Candidate> Candidates, double[] Scores)>();
            for (var i = 0; i < batch.Count; i++)
            {
                var scores = await scorer.ScoreAsync(new ScoringGroup(batch[i].Text, sampled[i].Select(c => c.Text).ToList(), batch[i].Context), cancellationToken);
                groups.Add((batch[i], sampled[i], scores));
                progress?.Invoke(new RoundProgress("score", iteration, options.Iterations, i + 1, batch.Count));
            }

            // A group teaches something only when its scores differ and its best candidate is good enough to move toward.
            WriteSamples(iteration, groups);
            var informative = groups.Where(g => g.Scores.Max() - g.Scores.Min() > 1e-9 && g.Scores.Max() >= options.MinBestScore).ToList();
            var allScores = groups.SelectMany(g => g.Scores).ToList();
            var rewardMean = allScores.Average();
            var summary = new RoundMetrics
            {
                Event = "iteration",
                Iteration = iteration,
                RewardMean = rewardMean,
                RewardStd = Std(allScores),
                Agreement = groups.Average(g => Agreement(g.Candidates)),
                Groups = groups.Count,
                SkippedGroups = groups.Count - informative.Count,
                ElapsedSeconds = Elapsed,
            };
            Log(summary);

            if (informative.Count > 0)
            {
                Train(informative, optimizer, trainable, reference, iteration);
            }

            if (AfterIteration is not null)
            {
                await AfterIteration(iteration, policy, cancellationToken);
            }

            double? quality = null;
            if (heldOut is not null)
            {
                progress?.Invoke(new RoundProgress("evaluate", iteration, options.Iterations, 0, 1));
                quality = await heldOut(policy, cancellationToken);
                Log(new RoundMetrics { Event = "evaluate", Iteration = iteration, HeldOut = quality, RewardMean = rewardMean, ElapsedSeconds = Elapsed });
            }

            var improved = quality is null || bestHeldOut is null || quality >= bestHeldOut;
            if (improved)
            {
                ModelCopies.Dispose(best);
                best = Snapshot();
                bestIteration = iteration;
                bestHeldOut = quality ?? bestHeldOut;
            }

            // Reward hacking: the reward keeps climbing while quality on held-out inputs drops below the best seen.
            var falling = quality is not null && bestHeldOut is not null && quality < bestHeldOut - options.GuardTolerance;
            rising = falling && !double.IsNaN(lastReward) && rewardMean > lastReward ? rising + 1 : falling ? rising : 0;
            lastReward = rewardMean;
            SaveState(iteration, bestIteration);
            if (rising >= options.GuardPatience)
            {
                guarded = true;
                stopReason = $"reward rose while held-out quality fell for {rising} evaluations; kept iteration {bestIteration}";
                Log(new RoundMetrics { Event = "guard", Iteration = iteration, Note = stopReason, ElapsedSeconds = Elapsed });
                break;
            }
        }

        RestoreSnapshot(best!);
        ModelCopies.Dispose(best);
        SaveBest();
        return new TaoRoundResult(_metrics, bestIteration, bestHeldOut, guarded, stopReason, _trainingTokens, _trainingTime);
    }

    private void Train(List<(TaskPrompt Prompt, IReadOnlyList<Candidate> Candidates, double[] Scores)> groups, optim.Optimizer optimizer,
        List<TorchSharp.Modules.Parameter> trainable, LlamaForCausalLM? reference, int iteration)
    {
        var clock = Stopwatch.StartNew();
        var items = new List<(int[] Prompt, int[] Completion, double Advantage, int Pair)>();
        foreach (var (prompt, candidates, scores) in groups)
        {
            var promptIds = tokenizer.EncodePrompt(prompt.Messages);
            var completions = candidates.Select(Completion).ToList();
            switch (options.Objective)
            {
                case TaoObjective.Grpo or TaoObjective.DrGrpo:
                    var advantages = Losses.GroupAdvantages(scores, options.Objective == TaoObjective.DrGrpo ? AdvantageVariant.DrGrpo : AdvantageVariant.Grpo);
                    items.AddRange(completions.Select((c, i) => (promptIds, c, advantages[i], -1)));
                    break;
                case TaoObjective.Dpo:
                    var bestIndex = Array.IndexOf(scores, scores.Max());
                    var worstIndex = Array.IndexOf(scores, scores.Min());
                    items.Add((promptIds, completions[bestIndex], 1, items.Count / 2));
                    items.Add((promptIds, completions[worstIndex], -1, items.Count / 2));
                    break;
                case TaoObjective.BestOfN:
                    items.Add((promptIds, completions[Array.IndexOf(scores, scores.Max())], 1, -1));
                    break;
            }
        }

        var random = new Random((int)options.Seed + iteration);
        var batchSize = options.Objective == TaoObjective.Dpo ? Math.Max(2, options.BatchSize / 2 * 2) : options.BatchSize;
        var batches = new List<List<(int[] Prompt, int[] Completion, double Advantage, int Pair)>>();
        var order = options.Objective == TaoObjective.Dpo
            ? items.Chunk(2).OrderBy(_ => random.Next()).SelectMany(p => p).ToList()
            : items.OrderBy(_ => random.Next()).ToList();
        for (var start = 0; start < order.Count; start += batchSize)
        {
            batches.Add(order.Skip(start).Take(batchSize).ToList());
        }

        // Log-probabilities of the policy that sampled (for clipped ratios) and of the reference, computed once.
        var old = batches.Select(b => Frozen(policy, b)).ToList();
        var refs = reference is null ? null : batches.Select(b => Frozen(reference, b)).ToList();
        var total = options.EpochsPerIteration * batches.Count;
        var done = 0;
        policy.train();
        for (var epoch = 0; epoch < options.EpochsPerIteration; epoch++)
        {
            foreach (var index in Enumerable.Range(0, batches.Count).OrderBy(_ => random.Next()))
            {
                using var scope = NewDisposeScope();
                var batch = batches[index];
                var (ids, attention, target) = SequenceBatch.Build(batch.Select(b => (b.Prompt, b.Completion)).ToList(), tokenizer.PadId, policy.Device);
                var (logProbs, mask) = SequenceBatch.TokenLogProbs(policy, ids, attention, target);
                Tensor loss;
                double? kl = null;
                switch (options.Objective)
                {
                    case TaoObjective.Grpo or TaoObjective.DrGrpo:
                        var advantages = tensor(batch.Select(b => (float)b.Advantage).ToArray(), device: policy.Device);
                        loss = Losses.Grpo(logProbs, old[index], refs?[index], advantages, mask, options.Clip, options.KlBeta,
                            options.Objective == TaoObjective.DrGrpo ? AdvantageVariant.DrGrpo : AdvantageVariant.Grpo, options.Generation.MaxNewTokens);
                        if (refs is not null)
                        {
                            kl = Losses.KlK3(logProbs, refs[index], mask).item<float>();
                        }

                        break;
                    case TaoObjective.Dpo:
                        var sequence = Losses.SequenceLogProbs(logProbs, mask).view(-1, 2);
                        var reference2 = Losses.SequenceLogProbs(refs![index], mask).view(-1, 2);
                        loss = Losses.Dpo(sequence[.., 0], sequence[.., 1], reference2[.., 0], reference2[.., 1], options.DpoBeta);
                        break;
                    default:
                        loss = Losses.Sft(logProbs, mask);
                        break;
                }

                optimizer.zero_grad();
                loss.backward();
                TorchSharp.torch.nn.utils.clip_grad_norm_(trainable, 1.0);
                optimizer.step();
                _trainingTokens += batch.Sum(b => b.Prompt.Length + b.Completion.Length);
                Log(new RoundMetrics { Event = "step", Iteration = iteration, Step = ++_step, Loss = loss.item<float>(), Kl = kl, ElapsedSeconds = Elapsed });
                progress?.Invoke(new RoundProgress("train", iteration, options.Iterations, ++done, total));
            }
        }

        foreach (var tensor in old.Concat(refs ?? []))
        {
            tensor.Dispose();
        }

        _trainingTime += clock.Elapsed;
    }

    private Tensor Frozen(LlamaForCausalLM model, List<(int[] Prompt, int[] Completion, double Advantage, int Pair)> batch)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (ids, attention, target) = SequenceBatch.Build(batch.Select(b => (b.Prompt, b.Completion)).ToList(), tokenizer.PadId, model.Device);
        var (logProbs, _) = SequenceBatch.TokenLogProbs(model, ids, attention, target);
        return logProbs.MoveToOuterDisposeScope();
    }

    private int[] Completion(Candidate candidate)
    {
        var tokens = candidate.Tokens ?? tokenizer.Encode(" " + candidate.Text);
        return candidate.Stopped ? [.. tokens, tokenizer.EosId] : tokens;
    }

    private List<TaskPrompt> PromptsFor(IReadOnlyList<TaskPrompt> prompts, int iteration)
    {
        var random = new Random((int)options.Seed * 7919 + iteration);
        var shuffled = prompts.OrderBy(_ => random.Next()).ToList();
        return options.PromptsPerIteration > 0 ? shuffled.Take(options.PromptsPerIteration).ToList() : shuffled;
    }

    private LlamaForCausalLM ReferenceModel()
    {
        if (Adapters is null)
        {
            return ModelCopies.Frozen(policy);
        }

        // With adapters the reference is the base: a copy whose adapters are merged while still zero is exactly that.
        var copy = new LlamaForCausalLM(policy.Config, policy.Device);
        var baseWeights = policy.named_parameters().Where(p => !p.name.Contains("lora_")).ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            foreach (var (name, parameter) in copy.named_parameters())
            {
                parameter.copy_(baseWeights[name]);
            }
        }

        foreach (var parameter in copy.parameters())
        {
            parameter.requires_grad = false;
        }

        copy.eval();
        return copy;
    }

    private Dictionary<string, Tensor> Snapshot()
    {
        using var noGrad = no_grad();
        return policy.named_parameters().Where(p => p.parameter.requires_grad).ToDictionary(p => p.name, p =>
        {
            var clone = p.parameter.detach().clone();
            clone.DetachFromDisposeScope();
            return clone;
        });
    }

    private void RestoreSnapshot(Dictionary<string, Tensor> snapshot)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in policy.named_parameters())
        {
            if (snapshot.TryGetValue(name, out var value))
            {
                parameter.copy_(value);
            }
        }
    }

    private static double Std(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Count));
    }

    /// <summary>Share of the group that gave its most common (normalised) answer.</summary>
    private static double Agreement(IReadOnlyList<Candidate> candidates) =>
        (double)candidates.GroupBy(c => string.Join(' ', c.Text.ToLowerInvariant().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)))
            .Max(g => g.Count()) / candidates.Count;

    private double Elapsed => _clock.Elapsed.TotalSeconds;

    private void Log(RoundMetrics metrics)
    {
        _metrics.Add(metrics);
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
            File.AppendAllText(Path.Combine(folder, "metrics.jsonl"), JsonSerializer.Serialize(metrics, s_json) + "\n");
        }
    }

    /// <summary>Up to 20 scored groups per iteration in samples.jsonl: what the scorer rewarded, for people to check.</summary>
    private void WriteSamples(int iteration, List<(TaskPrompt Prompt, IReadOnlyList<Candidate> Candidates, double[] Scores)> groups)
    {
        if (folder is null)
        {
            return;
        }

        Directory.CreateDirectory(folder);
        var lines = groups.Take(20).Select(g => JsonSerializer.Serialize(new
        {
            iteration,
            prompt = g.Prompt.Id,
            text = g.Prompt.Messages[^1].Content,
            candidates = g.Candidates.Select((c, i) => new { text = c.Text, score = Math.Round(g.Scores[i], 4) }),
        }, s_json));
        File.AppendAllLines(Path.Combine(folder, "samples.jsonl"), lines);
    }

    private sealed record RoundState(int CompletedIterations, int BestIteration);

    /// <summary>A round interrupted midway resumes after its last completed iteration, from that iteration's weights.</summary>
    private RoundState LoadState()
    {
        var path = folder is null ? null : Path.Combine(folder, "state.json");
        if (path is null || !File.Exists(path))
        {
            return new RoundState(0, 0);
        }

        var state = JsonSerializer.Deserialize<RoundState>(File.ReadAllText(path), s_json)!;
        var latest = Path.Combine(folder!, "latest");
        if (Directory.Exists(latest))
        {
            ModelCheckpoint.LoadWeights(latest, policy.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList());
        }

        Log(new RoundMetrics { Event = "resume", Iteration = state.CompletedIterations, Note = $"resuming after iteration {state.CompletedIterations}" });
        return state;
    }

    private void SaveState(int iteration, int bestIteration)
    {
        if (folder is null)
        {
            return;
        }

        var latest = Path.Combine(folder, "latest");
        Directory.CreateDirectory(latest);
        ModelCheckpoint.SaveTensors(latest, policy.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, (Tensor)p.parameter)).ToList(), long.MaxValue);
        var temp = Path.Combine(folder, "state.json.tmp");
        File.WriteAllText(temp, JsonSerializer.Serialize(new RoundState(iteration, bestIteration), s_json));
        File.Move(temp, Path.Combine(folder, "state.json"), overwrite: true);
    }

    /// <summary>The kept weights: PEFT adapters when training LoRA, else a full checkpoint, in folder/best.</summary>
    private void SaveBest()
    {
        if (folder is null)
        {
            return;
        }

        var best = Path.Combine(folder, "best");
        if (Adapters is not null && options.Lora is not null)
        {
            LoraAdapters.ExportPeft(Adapters, options.Lora, best, "base");
        }
        else
        {
            ModelCheckpoint.Save(policy, best);
        }
    }
}
