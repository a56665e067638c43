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
/// One TAO round on inputs only, as iterated optimisation. Each iteration samples candidates from the current policy,
/// scores them without labels, keeps the groups whose pick is trustworthy (confidence filter), and updates the policy:
/// by default expert iteration — fine-tuning on a de-duplicated buffer of confident best candidates carried across
/// iterations — or on-policy GRPO / Dr. GRPO, or DPO, all on one warm-up + cosine schedule. Between iterations the round
/// watches entropy, answer length and reward, and stops on collapse or reward hacking. At the end it keeps the best
/// iteration, chosen without labels on a dev slice of the inputs that no iteration trained on (or by the caller's
/// held-out measure when one is given).
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
    private readonly Dictionary<int, Dictionary<string, Tensor>> _snapshots = [];
    private long _trainingTokens;
    private TimeSpan _trainingTime;

    /// <summary>Called after each iteration's update (diagnostics only: nothing it returns steers the round).</summary>
    public Func<int, LlamaForCausalLM, CancellationToken, Task>? AfterIteration { get; init; }

    /// <summary>
    /// Diagnostics only: which candidates of a prompt are right, judged with labels the round never sees otherwise. When
    /// set, every iteration also logs the precision of the targets it selected, the label-free pick's accuracy and pass@N,
    /// so a reader can tell whether the scorer or the training step limits the round. Nothing in training or selection
    /// reads it.
    /// </summary>
    public Func<TaskPrompt, IReadOnlyList<string>, CancellationToken, Task<bool[]>>? Oracle { get; init; }

    /// <summary>LoRA adapters of the policy, when the round trains adapters.</summary>
    public IReadOnlyDictionary<string, LoraLinear>? Adapters { get; private set; }

    /// <summary>The inputs kept out of training to choose the best iteration (empty when the round had too few inputs).</summary>
    public IReadOnlyList<TaskPrompt> DevPrompts { get; private set; } = [];

    public async Task<TaoRoundResult> RunAsync(
        IReadOnlyList<TaskPrompt> prompts, Func<LlamaForCausalLM, CancellationToken, Task<double>>? heldOut, CancellationToken cancellationToken)
    {
        if (options.Lora is { } lora)
        {
            Adapters = LoraAdapters.Apply(policy, lora);
        }

        var (train, dev) = SplitDev(prompts);
        DevPrompts = dev;
        var devSplit = new DevSplit(dev, tokenizer, options.DevSamples, options.Generation with { SamplesPerPrompt = 1 });
        var buffer = new ExperienceBuffer();
        var state = LoadState(train, buffer, devSplit);
        using var reference = options.Objective == TaoObjective.Dpo || (options.KlBeta > 0 && options.Objective is TaoObjective.Grpo or TaoObjective.DrGrpo)
            ? ReferenceModel() : null;
        using var updater = new PolicyUpdater(policy, tokenizer.PadId, options, reference)
        {
            PlannedSteps = PlannedSteps(train.Count),
            Steps = state.Steps,
        };
        var candidates = source ?? new LocalCandidateSource(policy, tokenizer);
        var health = new RoundHealth(options);

        Keep(0);
        if (!devSplit.Has(0))
        {
            devSplit.Record(0, policy);
        }

        var quality = new Dictionary<int, double>();
        if (heldOut is not null)
        {
            quality[0] = await heldOut(policy, cancellationToken);
            Log(new RoundMetrics { Event = "evaluate", Iteration = 0, HeldOut = quality[0], ElapsedSeconds = Elapsed, Note = "before tuning" });
        }

        var stopReason = "completed all iterations";
        var guarded = false;
        for (var iteration = state.CompletedIterations + 1; iteration <= options.Iterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var groups = options.Objective is TaoObjective.Grpo or TaoObjective.DrGrpo
                ? await GrpoIterationAsync(train, iteration, candidates, updater, cancellationToken)
                : await ExpertIterationAsync(train, iteration, candidates, updater, buffer, cancellationToken);
            var summary = await SummariseAsync(iteration, groups, buffer, cancellationToken);

            if (AfterIteration is not null)
            {
                await AfterIteration(iteration, policy, cancellationToken);
            }

            Keep(iteration);
            progress?.Invoke(new RoundProgress("evaluate", iteration, options.Iterations, 0, 1));
            devSplit.Record(iteration, policy);
            var devScores = dev.Count > 0 ? await devSplit.ScoreAsync(scorer, cancellationToken) : null;
            if (heldOut is not null)
            {
                quality[iteration] = await heldOut(policy, cancellationToken);
            }

            double? current = heldOut is not null ? quality[iteration] : devScores?[iteration];
            double? best = heldOut is not null ? quality.Where(q => q.Key < iteration).Max(q => q.Value)
                : devScores?.Where(d => d.Key < iteration).Max(d => d.Value);
            Log(new RoundMetrics
            {
                Event = "evaluate", Iteration = iteration, HeldOut = heldOut is not null ? current : null, Dev = devScores?[iteration],
                RewardMean = summary.RewardMean, ElapsedSeconds = Elapsed,
            });
            SaveState(iteration, updater.Steps, buffer, devSplit);

            if (health.Check(iteration, summary.Entropy ?? 0, summary.AnswerTokens ?? 0, summary.RewardMean ?? 0, current, best) is { } reason)
            {
                guarded = true;
                stopReason = reason;
                Log(new RoundMetrics { Event = "guard", Iteration = iteration, Note = reason, ElapsedSeconds = Elapsed });
                break;
            }
        }

        // The kept iteration: best held-out score when the caller measures one, else best label-free dev score (the
        // later iteration on ties), else the last.
        var finalDev = dev.Count > 0 ? await devSplit.ScoreAsync(scorer, cancellationToken) : null;
        var candidatesForBest = _snapshots.Keys.Union(KeptOnDisk()).Order().ToList();
        var bestIteration = heldOut is not null ? quality.OrderByDescending(q => q.Value).ThenBy(q => q.Key).First().Key
            : finalDev is { Count: > 0 } ? finalDev.Where(d => candidatesForBest.Contains(d.Key)).OrderByDescending(d => d.Value).ThenByDescending(d => d.Key).First().Key
            : candidatesForBest.Max();
        Restore(bestIteration);
        if (guarded)
        {
            stopReason += $"; kept iteration {bestIteration}";
        }

        Log(new RoundMetrics
        {
            Event = "selected", Iteration = bestIteration, Dev = finalDev?.GetValueOrDefault(bestIteration),
            HeldOut = heldOut is not null ? quality[bestIteration] : null, ElapsedSeconds = Elapsed,
            Note = finalDev is null ? null : "dev by iteration: " + string.Join(", ", finalDev.Select(d => $"{d.Key}={d.Value:0.000}")),
        });
        foreach (var snapshot in _snapshots.Values)
        {
            ModelCopies.Dispose(snapshot);
        }

        SaveBest();
        return new TaoRoundResult(_metrics, bestIteration, heldOut is not null ? quality[bestIteration] : finalDev?.GetValueOrDefault(bestIteration),
            guarded, stopReason, _trainingTokens, _trainingTime) { DevScores = finalDev };
    }

    /// <summary>Expert iteration (and DPO): sample every prompt, score, refresh the buffer from confident groups, train.</summary>
    private async Task<List<ScoredGroup>> ExpertIterationAsync(IReadOnlyList<TaskPrompt> train, int iteration, ICandidateSource candidates,
        PolicyUpdater updater, ExperienceBuffer buffer, CancellationToken cancellationToken)
    {
        var batch = PromptsFor(train, iteration);
        var groups = await SampleAndScoreAsync(batch, iteration, candidates, cancellationToken);
        var confident = groups.Where(Confident).ToList();
        var random = new Random((int)options.Seed * 31 + iteration);
        var clock = Stopwatch.StartNew();
        IEnumerable<PolicyUpdater.StepResult> steps;
        if (options.Objective == TaoObjective.Dpo)
        {
            var pairs = confident.Where(g => g.Worst is not null)
                .Select(g => (Item(g.Prompt, g.Top[0]), Item(g.Prompt, g.Worst!))).ToList();
            steps = updater.Dpo(pairs, options.EpochsPerIteration, random);
        }
        else
        {
            foreach (var group in confident)
            {
                buffer.Add(group, iteration, options.TargetsPerPrompt);
            }

            var items = buffer.Entries.SelectMany(e => e.Targets.Select(t => Item(e.Prompt, t))).ToList();
            steps = updater.FineTune(items, options.EpochsPerIteration, random);
        }

        Train(steps, iteration, clock);
        return groups;
    }

    /// <summary>GRPO: one pass over the prompts in on-policy steps of whole groups (BatchSize / Candidates prompts each).</summary>
    private async Task<List<ScoredGroup>> GrpoIterationAsync(IReadOnlyList<TaskPrompt> train, int iteration, ICandidateSource candidates,
        PolicyUpdater updater, CancellationToken cancellationToken)
    {
        var batch = PromptsFor(train, iteration);
        var perStep = Math.Max(1, options.BatchSize / options.Candidates);
        var variant = options.Objective == TaoObjective.DrGrpo ? AdvantageVariant.DrGrpo : AdvantageVariant.Grpo;
        var all = new List<ScoredGroup>();
        for (var start = 0; start < batch.Count; start += perStep)
        {
            var groups = await SampleAndScoreAsync(batch.Skip(start).Take(perStep).ToList(), iteration, candidates, cancellationToken);
            all.AddRange(groups);
            var items = groups.Where(Teaches).SelectMany(g =>
            {
                var advantages = Losses.GroupAdvantages(g.Scores, variant);
                return g.Candidates.Select((c, i) => Item(g.Prompt, c) with { Advantage = advantages[i] });
            }).ToList();
            if (items.Count > 0)
            {
                var clock = Stopwatch.StartNew();
                Train([updater.Grpo(items, variant, options.Generation.MaxNewTokens)], iteration, clock);
            }
        }

        return all;
    }

    private void Train(IEnumerable<PolicyUpdater.StepResult> steps, int iteration, Stopwatch clock)
    {
        foreach (var step in steps)
        {
            _trainingTokens += step.Tokens;
            Log(new RoundMetrics { Event = "step", Iteration = iteration, Step = _step++, Loss = step.Loss, Kl = step.Kl, LearningRate = step.LearningRate, ElapsedSeconds = Elapsed });
            progress?.Invoke(new RoundProgress("train", iteration, options.Iterations, _step, 0));
        }

        _trainingTime += clock.Elapsed;
    }

    private int _step;

    private async Task<List<ScoredGroup>> SampleAndScoreAsync(IReadOnlyList<TaskPrompt> batch, int iteration, ICandidateSource candidates, CancellationToken cancellationToken)
    {
        progress?.Invoke(new RoundProgress("generate", iteration, options.Iterations, 0, batch.Count * options.Candidates));
        var generation = options.Generation with { Seed = options.Seed * 1000 + (ulong)iteration * 7 + (ulong)_sampled++ };
        var sampled = await candidates.GenerateAsync(batch, options.Candidates, generation, cancellationToken);
        var groups = new List<ScoredGroup>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var scores = await scorer.ScoreAsync(new ScoringGroup(batch[i].Text, sampled[i].Select(c => c.Text).ToList(), batch[i].Context), cancellationToken);
            groups.Add(new ScoredGroup(batch[i], sampled[i], scores));
            progress?.Invoke(new RoundProgress("score", iteration, options.Iterations, i + 1, batch.Count));
        }

        return groups;
    }

    private int _sampled;

    /// <summary>
    /// A group's pick is trusted when its best candidate reaches the minimum score and either most of the candidates that
    /// passed verification agree with it, or it passed every check (a perfect score).
    /// </summary>
    private bool Confident(ScoredGroup group) =>
        group.Best >= options.MinBestScore && (group.Best >= 1 - 1e-9 || group.TopShare >= options.MinTopShare);

    /// <summary>Whether a group takes part in the update: GRPO learns from any group whose scores differ; the others from confident picks.</summary>
    private bool Teaches(ScoredGroup group) =>
        options.Objective is TaoObjective.Grpo or TaoObjective.DrGrpo ? !group.Flat && group.Best >= options.MinBestScore : Confident(group);

    private async Task<RoundMetrics> SummariseAsync(int iteration, List<ScoredGroup> groups, ExperienceBuffer buffer, CancellationToken cancellationToken)
    {
        var scores = groups.SelectMany(g => g.Scores).ToList();
        var sampledTokens = groups.SelectMany(g => g.Candidates).Where(c => c.LogProbs is { Length: > 0 }).ToList();
        double? precision = null, bufferPrecision = null, pick = null, pass = null;
        if (Oracle is not null)
        {
            int picked = 0, passed = 0, targets = 0, rightTargets = 0;
            foreach (var group in groups)
            {
                var right = await Oracle(group.Prompt, group.Candidates.Select(c => c.Text).ToList(), cancellationToken);
                picked += right[Array.IndexOf(group.Scores, group.Best)] ? 1 : 0;
                passed += right.Any(r => r) ? 1 : 0;
                if (Confident(group))
                {
                    targets++;
                    rightTargets += (await Oracle(group.Prompt, [group.Top[0].Text], cancellationToken))[0] ? 1 : 0;
                }
            }

            var entries = buffer.Entries.ToList();
            var bufferRight = 0;
            foreach (var entry in entries)
            {
                bufferRight += (await Oracle(entry.Prompt, [entry.Targets[0].Text], cancellationToken))[0] ? 1 : 0;
            }

            (pick, pass) = ((double)picked / groups.Count, (double)passed / groups.Count);
            precision = targets == 0 ? null : (double)rightTargets / targets;
            bufferPrecision = entries.Count == 0 ? null : (double)bufferRight / entries.Count;
        }

        var summary = new RoundMetrics
        {
            Event = "iteration",
            Iteration = iteration,
            RewardMean = scores.Average(),
            RewardStd = Std(scores),
            Agreement = groups.Average(g => g.TopShare),
            Groups = groups.Count,
            SkippedGroups = groups.Count(g => !Teaches(g)),
            LabelFreePass = groups.Average(g => g.Best >= options.MinBestScore ? 1.0 : 0.0),
            Entropy = sampledTokens.Count == 0 ? null : sampledTokens.Average(c => -c.LogProbs!.Average()),
            AnswerTokens = groups.SelectMany(g => g.Candidates).Average(c => c.Tokens?.Length ?? c.Text.Length / 4.0),
            BufferSize = buffer.Count,
            TargetPrecision = precision,
            BufferPrecision = bufferPrecision,
            PickAccuracy = pick,
            PassAtN = pass,
            ElapsedSeconds = Elapsed,
        };
        Log(summary);
        WriteSamples(iteration, groups);
        return summary;
    }

    private TrainingItem Item(TaskPrompt prompt, Candidate candidate)
    {
        var tokens = candidate.Tokens ?? tokenizer.Encode(" " + candidate.Text);
        return new TrainingItem(tokenizer.EncodePrompt(prompt.Messages), candidate.Stopped ? [.. tokens, tokenizer.EosId] : tokens);
    }

    /// <summary>The dev slice (see <see cref="DevSlice"/>): never trained on, used to choose the best iteration.</summary>
    private (IReadOnlyList<TaskPrompt> Train, IReadOnlyList<TaskPrompt> Dev) SplitDev(IReadOnlyList<TaskPrompt> prompts)
    {
        var dev = DevSlice.Choose(prompts.Select(p => p.Id), options.Seed, options.DevFraction, options.MinDevPrompts, options.MaxDevPrompts);
        return (prompts.Where(p => !dev.Contains(p.Id)).ToList(), prompts.Where(p => dev.Contains(p.Id)).ToList());
    }

    private int PlannedSteps(int trainPrompts)
    {
        var perIteration = options.PromptsPerIteration > 0 ? Math.Min(options.PromptsPerIteration, trainPrompts) : trainPrompts;
        var steps = options.Objective switch
        {
            TaoObjective.Grpo or TaoObjective.DrGrpo => (perIteration + Math.Max(1, options.BatchSize / options.Candidates) - 1) / Math.Max(1, options.BatchSize / options.Candidates),
            TaoObjective.Dpo => options.EpochsPerIteration * ((perIteration + Math.Max(1, options.BatchSize / 2) - 1) / Math.Max(1, options.BatchSize / 2)),
            _ => options.EpochsPerIteration * ((perIteration * options.TargetsPerPrompt + options.BatchSize - 1) / options.BatchSize),
        };
        return Math.Max(1, steps * options.Iterations);
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

    private IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> Trainable() =>
        policy.named_parameters().Where(p => p.parameter.requires_grad);

    /// <summary>Keeps an iteration's weights to come back to: on disk when the round has a folder, else in memory.</summary>
    private void Keep(int iteration)
    {
        if (folder is not null)
        {
            var path = Path.Combine(folder, "iterations", iteration.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(path);
            ModelCheckpoint.SaveTensors(path, Trainable().Select(p => (p.Name, (Tensor)p.Parameter)).ToList(), long.MaxValue);
            return;
        }

        using var noGrad = no_grad();
        _snapshots[iteration] = Trainable().ToDictionary(p => p.Name, p =>
        {
            var clone = p.Parameter.detach().clone();
            clone.DetachFromDisposeScope();
            return clone;
        });
    }

    private IEnumerable<int> KeptOnDisk() => folder is null || !Directory.Exists(Path.Combine(folder, "iterations")) ? []
        : Directory.GetDirectories(Path.Combine(folder, "iterations")).Select(d => int.TryParse(Path.GetFileName(d), out var i) ? i : -1).Where(i => i >= 0);

    private void Restore(int iteration)
    {
        if (_snapshots.TryGetValue(iteration, out var snapshot))
        {
            using var noGrad = no_grad();
            foreach (var (name, parameter) in Trainable())
            {
                parameter.copy_(snapshot[name]);
            }

            return;
        }

        if (folder is not null)
        {
            ModelCheckpoint.LoadWeights(Path.Combine(folder, "iterations", iteration.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Trainable().Select(p => (p.Name, p.Parameter)).ToList());
        }
    }

    private static double Std(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Count));
    }

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
    private void WriteSamples(int iteration, List<ScoredGroup> groups)
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
            confident = Confident(g),
            candidates = g.Candidates.Select((c, i) => new { text = c.Text, score = Math.Round(g.Scores[i], 4) }),
        }, s_json));
        File.AppendAllLines(Path.Combine(folder, "samples.jsonl"), lines);
    }

    private sealed record RoundState(int CompletedIterations, int Steps);

    /// <summary>A round interrupted midway resumes after its last completed iteration, from that iteration's weights and buffer.</summary>
    private RoundState LoadState(IReadOnlyList<TaskPrompt> train, ExperienceBuffer buffer, DevSplit dev)
    {
        var path = folder is null ? null : Path.Combine(folder, "state.json");
        if (path is null || !File.Exists(path))
        {
            return new RoundState(0, 0);
        }

        var state = JsonSerializer.Deserialize<RoundState>(File.ReadAllText(path), s_json)!;
        var latest = Path.Combine(folder!, "iterations", state.CompletedIterations.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (Directory.Exists(latest))
        {
            ModelCheckpoint.LoadWeights(latest, Trainable().Select(p => (p.Name, p.Parameter)).ToList());
        }

        buffer.Load(Path.Combine(folder!, "buffer.jsonl"), train.ToDictionary(p => p.Id, StringComparer.Ordinal));
        dev.Load(Path.Combine(folder!, "dev.jsonl"));
        Log(new RoundMetrics { Event = "resume", Iteration = state.CompletedIterations, Note = $"resuming after iteration {state.CompletedIterations}" });
        return state;
    }

    private void SaveState(int iteration, int steps, ExperienceBuffer buffer, DevSplit dev)
    {
        if (folder is null)
        {
            return;
        }

        buffer.Save(Path.Combine(folder, "buffer.jsonl"));
        dev.Save(Path.Combine(folder, "dev.jsonl"));
        var temp = Path.Combine(folder, "state.json.tmp");
        File.WriteAllText(temp, JsonSerializer.Serialize(new RoundState(iteration, steps), s_json));
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
