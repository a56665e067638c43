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
    private readonly List<RoundMetrics> _metrics = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private RoundFolder? _folder;
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

    /// <summary>
    /// Labelled targets from users, by prompt id: demonstrations (an edited ideal answer) and answers users rated up.
    /// In expert iteration they are the prompt's targets from the first iteration on, whatever the candidates score;
    /// in DPO they are the chosen side of the prompt's pair. GRPO samples only, so it does not read them.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Labelled { get; init; }

    /// <summary>Answers users rated down, by prompt id: a candidate identical to one scores 0, whatever the scorer says.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>>? Rejected { get; init; }

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
        foreach (var prompt in train)
        {
            if (Labelled?.GetValueOrDefault(prompt.Id) is { Length: > 0 } target)
            {
                buffer.Pin(prompt, new Candidate(target));
            }
        }

        if (buffer.Count > 0)
        {
            Log(new RoundMetrics { Event = "labelled", Iteration = 0, Note = $"{buffer.Count} prompts have targets from users (demonstrations or answers rated up)" });
        }

        using var kept = new RoundFolder(policy, folder);
        _folder = kept;
        var state = kept.Load(buffer, train.ToDictionary(p => p.Id, StringComparer.Ordinal), devSplit);
        if (state is not null)
        {
            Log(new RoundMetrics { Event = "resume", Iteration = state.CompletedIterations, Note = $"resuming after iteration {state.CompletedIterations}" });
        }

        using var reference = options.Objective == TaoObjective.Dpo || (options.KlBeta > 0 && options.Objective is TaoObjective.Grpo or TaoObjective.DrGrpo)
            ? ModelCopies.Reference(policy, Adapters is not null) : null;
        using var updater = new PolicyUpdater(policy, tokenizer.PadId, options, reference)
        {
            PlannedSteps = PlannedSteps(train.Count),
            Steps = state?.Steps ?? 0,
        };
        var candidates = source ?? new LocalCandidateSource(policy, tokenizer);
        var health = new RoundHealth(options, heldOut is null && dev.Count > 0 ? 1 / Math.Sqrt(dev.Count) : 0);

        if (state is null)
        {
            kept.Keep(0); // the starting weights, to come back to (a resumed round kept them before it stopped)
        }

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
        for (var iteration = (state?.CompletedIterations ?? 0) + 1; iteration <= options.Iterations; iteration++)
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

            kept.Keep(iteration);
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
            kept.Save(new RoundFolder.State(iteration, updater.Steps), buffer, devSplit);

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
        var candidatesForBest = kept.Kept;
        var bestIteration = heldOut is not null ? quality.OrderByDescending(q => q.Value).ThenBy(q => q.Key).First().Key
            : finalDev is { Count: > 0 } ? finalDev.Where(d => candidatesForBest.Contains(d.Key)).OrderByDescending(d => d.Value).ThenByDescending(d => d.Key).First().Key
            : candidatesForBest.Max();
        kept.Restore(bestIteration);
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
        kept.SaveBest(Adapters, options.Lora);
        _folder = null;
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
            var pairs = confident.Where(g => g.Worst is not null && g.Best > g.Scores.Min())
                .Select(g => (Item(g.Prompt, buffer.TryGet(g.Prompt.Id, out var pinned) && pinned.Pinned ? pinned.Targets[0] : g.Top[0]), Item(g.Prompt, g.Worst!)))
                .ToList();
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

    /// <summary>
    /// Samples and scores every prompt once, without training: the candidate set an external trainer receives (answers
    /// rated down already score 0). Targets from users are not applied here; <see cref="CandidateSetWriter"/> adds them.
    /// </summary>
    public Task<List<ScoredGroup>> SampleAndScoreOnceAsync(IReadOnlyList<TaskPrompt> prompts, CancellationToken cancellationToken) =>
        SampleAndScoreAsync(prompts, 1, source ?? new LocalCandidateSource(policy, tokenizer), cancellationToken);

    /// <summary>Whether the round would trust a group's pick (see the confidence filter in the options).</summary>
    public bool IsConfident(ScoredGroup group) => Confident(group);

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
            if (Rejected?.GetValueOrDefault(batch[i].Id) is { Count: > 0 } rejected)
            {
                for (var c = 0; c < scores.Length; c++)
                {
                    if (rejected.Contains(sampled[i][c].Text.Trim()))
                    {
                        scores[c] = 0; // users rated this very answer down
                    }
                }
            }

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
        var summary = await IterationReport.SummariseAsync(iteration, groups, buffer, Confident, Teaches, options.MinBestScore, Oracle, Elapsed, cancellationToken);
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

    private double Elapsed => _clock.Elapsed.TotalSeconds;

    private void Log(RoundMetrics metrics)
    {
        _metrics.Add(metrics);
        _folder?.Log(metrics);
    }

    /// <summary>Up to 20 scored groups per iteration in samples.jsonl: what the scorer rewarded, for people to check.</summary>
    private void WriteSamples(int iteration, List<ScoredGroup> groups) =>
        _folder?.Append("samples.jsonl", groups.Take(20).Select(g => JsonSerializer.Serialize(new
        {
            iteration,
            prompt = g.Prompt.Id,
            text = g.Prompt.Messages[^1].Content,
            confident = Confident(g),
            candidates = g.Candidates.Select((c, i) => new { text = c.Text, score = Math.Round(g.Scores[i], 4) }),
        }, RoundFolder.Json)));
}
