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
/// iterations, sampling only the inputs that have no target yet, until the buffer stops growing — or on-policy GRPO /
/// Dr. GRPO, or DPO, all on one warm-up + cosine schedule. Between iterations the round watches entropy, answer length
/// and reward, and stops on collapse or reward hacking. Expert iteration ends with a polish: the starting weights
/// fine-tuned on the final buffer to convergence. The round keeps the best of its iterations and polish epochs, chosen
/// without labels on a dev slice of the inputs that nothing trained on (or by the caller's held-out measure when given).
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
    private readonly Stopwatch _sampling = new();
    private readonly Stopwatch _devClock = new();

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
    /// Diagnostics only: the held-out accuracy of the policy's weights, logged (as the polish event's held-out figure)
    /// after every polish epoch, so a reader can see what each candidate for the kept weights would have scored against
    /// what the label-free dev slice chose. Nothing in training or selection reads it.
    /// </summary>
    public Func<LlamaForCausalLM, CancellationToken, Task<double>>? HeldOutTrace { get; init; }

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

        var stopReason = state?.StopReason ?? "completed all iterations";
        var guarded = state?.Guarded ?? false;
        var stalled = 0;
        var bestDevId = 0; // the iteration with the best dev score so far (0: the starting weights)
        var enough = Math.Max(1, (int)Math.Ceiling(options.MinCoverageGain * train.Count)); // new targets that count as growth
        var expert = options.Objective is not (TaoObjective.Grpo or TaoObjective.DrGrpo); // expert iteration or DPO
        var bestOfN = options.Objective == TaoObjective.BestOfN; // expert iteration's buffer: focused sampling, the coverage stop, the polish
        var lastIteration = state?.CompletedIterations ?? 0;
        for (var iteration = lastIteration + 1; iteration <= options.Iterations && state?.StopReason is null; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var covered = buffer.Count;
            var batch = bestOfN && !options.ResampleCovered
                ? PromptsFor(train.Where(p => !buffer.TryGet(p.Id, out _)).ToList(), iteration)
                : PromptsFor(train, iteration);
            if (batch.Count == 0)
            {
                stopReason = $"every training input has a target after iteration {iteration - 1}";
                break;
            }

            // Later iterations spread the first one's budget (Candidates × inputs) over the inputs still without a target.
            var perPrompt = iteration == 1 ? options.Candidates : SpreadCandidates(train.Count, batch.Count);
            var groups = expert
                ? await ExpertIterationAsync(batch, iteration, candidates, updater, buffer, perPrompt, cancellationToken)
                : await GrpoIterationAsync(batch, iteration, candidates, updater, cancellationToken);
            var summary = await SummariseAsync(iteration, groups, buffer, train.Count, cancellationToken);
            lastIteration = iteration;

            if (AfterIteration is not null)
            {
                await AfterIteration(iteration, policy, cancellationToken);
            }

            kept.Keep(iteration);
            progress?.Invoke(new RoundProgress("evaluate", iteration, options.Iterations, 0, 1));
            // This iteration and the best before it, scored against one pool (the final choice rescores every record).
            var devScores = dev.Count > 0 ? await RecordDevAsync(devSplit, iteration, bestDevId, cancellationToken) : null;
            if (heldOut is not null)
            {
                quality[iteration] = await heldOut(policy, cancellationToken);
            }

            double? current = heldOut is not null ? quality[iteration] : devScores?[iteration];
            double? best = heldOut is not null ? quality.Where(q => q.Key < iteration).Max(q => q.Value)
                : devScores?[bestDevId];
            if (devScores is not null && devScores[iteration] > devScores[bestDevId])
            {
                bestDevId = iteration;
            }

            Log(new RoundMetrics
            {
                Event = "evaluate", Iteration = iteration, HeldOut = heldOut is not null ? current : null, Dev = devScores?[iteration],
                RewardMean = summary.RewardMean, ElapsedSeconds = Elapsed,
            });
            string? stop = null;
            if (health.Check(iteration, summary.Entropy ?? 0, summary.AnswerTokens ?? 0, summary.RewardMean ?? 0, current, best) is { } reason)
            {
                guarded = true;
                stop = reason;
                Log(new RoundMetrics { Event = "guard", Iteration = iteration, Note = reason, ElapsedSeconds = Elapsed });
            }
            else if (bestOfN && options.MinCoverageGain > 0)
            {
                var added = buffer.Count - covered;
                stalled = added < enough ? stalled + 1 : 0;
                if (stalled >= options.CoveragePatience)
                {
                    stop = $"the buffer stopped growing: fewer than {enough} new inputs with a target in each of the last {stalled} iterations " +
                           $"({buffer.Count} of {train.Count} training inputs have one)";
                }
            }

            kept.Save(new RoundFolder.State(iteration, updater.Steps, stop, guarded), buffer, devSplit);
            if (stop is not null)
            {
                stopReason = stop;
                break;
            }
        }

        var polishPasses = 0;
        var chosenRate = 0.0; // the polish's rate the dev slice chose (0 while none ran)
        var polishRuns = new List<(int Pass, double Rate)>(); // run k (from 1) polished in pass Pass at Rate
        double RateOf(int id) => polishRuns[KeptWeights.Polish(id).Run - 1].Rate;
        if (bestOfN && options.PolishEpochs > 0 && dev.Count > 0 && buffer.Count > 0)
        {
            var rates = options.PolishRateFactors.Length == 0 ? [options.LearningRate] : options.PolishRateFactors.Select(f => f * options.LearningRate).ToArray();
            var bestOfPass = 0;
            for (var pass = 1; pass <= Math.Max(1, options.PolishPasses); pass++)
            {
                // The first pass tries every rate (each to the end of its schedule, or racing for PolishRaceEpochs; the dev
                // slice picks among the runs, scored together against one pool); later passes use the chosen rate.
                var items = buffer.Entries.OrderBy(e => e.Prompt.Id, StringComparer.Ordinal).SelectMany(e => e.Targets.Select(t => Item(e.Prompt, t))).ToList();
                var repolish = pass > 1 && options.RepolishEpochs > 0;
                var epochs = repolish ? options.RepolishEpochs : options.PolishEpochs;
                var runs = new List<PolishRun>();
                try
                {
                    foreach (var rate in pass == 1 ? rates : [repolish ? chosenRate * options.RepolishRateFactor : chosenRate])
                    {
                        polishRuns.Add((pass, rate));
                        runs.Add(NewPolish(polishRuns.Count, pass, rate, repolish ? bestOfPass : 0, epochs, items));
                    }

                    var race = runs.Count > 1 && options.PolishRaceEpochs > 0 ? Math.Min(options.PolishRaceEpochs, epochs) : epochs;
                    // Each epoch's dev score is read only by a patience, a race, or a reader of the held-out trace; the
                    // choice itself reads the runs' last epochs, scored at the end.
                    var scoreEpochs = options.PolishPatience > 0 || race < epochs || HeldOutTrace is not null;
                    foreach (var run in runs)
                    {
                        await PolishAsync(run, race, scoreEpochs, buffer, kept, devSplit, heldOut, quality, cancellationToken);
                    }

                    if (race < epochs)
                    {
                        var leading = await BestOfAsync(runs.Select(r => r.BestId).ToList(), devSplit, heldOut, quality, cancellationToken);
                        await PolishAsync(runs.Single(r => r.BestId == leading), epochs, scoreEpochs, buffer, kept, devSplit, heldOut, quality, cancellationToken);
                    }

                    // A later pass's weights compete with the best before it, which they started from.
                    var contenders = runs.Select(r => KeptWeights.PolishId(r.Run, r.Epoch)).Concat(repolish ? [bestOfPass] : []).ToList();
                    // The first pass's rates: the lowest unless a higher one is clearly better on the dev inputs (see KeptWeights.SteadiestRate).
                    bestOfPass = contenders.Count == 1 ? contenders[0]
                        : pass == 1 && heldOut is null ? KeptWeights.SteadiestRate(await ScoreDevItemsAsync(devSplit, contenders, cancellationToken), RateOf)
                        : await BestOfAsync(contenders, devSplit, heldOut, quality, cancellationToken);
                }
                finally
                {
                    runs.ForEach(r => r.Dispose());
                    _polishing = null;
                }

                var (keptPass, keptRate) = polishRuns[KeptWeights.Polish(bestOfPass).Run - 1];
                chosenRate = keptPass > 1 && options.RepolishEpochs > 0 ? chosenRate : keptRate; // a continuation's lowered rate is not the chosen one
                polishPasses = pass;
                var uncovered = train.Where(p => !buffer.TryGet(p.Id, out _)).ToList();
                if (pass == options.PolishPasses || source is not null || uncovered.Count == 0)
                {
                    break;
                }

                // The polished weights sample the inputs still without a target (the budget spread as in the iterations).
                kept.Restore(bestOfPass);
                var iteration = ++lastIteration;
                var covered = buffer.Count;
                var groups = await SampleAndScoreAsync(PromptsFor(uncovered, iteration), iteration, candidates, cancellationToken,
                    SpreadCandidates(train.Count, uncovered.Count));
                foreach (var group in groups.Where(Confident))
                {
                    buffer.Add(group, iteration, options.TargetsPerPrompt);
                }

                await SummariseAsync(iteration, groups, buffer, train.Count, cancellationToken);
                kept.Save(new RoundFolder.State(iteration, updater.Steps, stopReason, guarded), buffer, devSplit);
                if (buffer.Count - covered < enough)
                {
                    stopReason += $"; the polished weights found targets for {buffer.Count - covered} more inputs, fewer than {enough}";
                    break;
                }
            }
        }

        // The kept weights (see KeptWeights): by the caller's held-out score when it measures one, else by the label-free
        // dev score, else the last iteration's.
        // Only the weights that compete are scored (against the pool of every record, as before).
        var candidatesForBest = KeptWeights.Finals(kept.Kept);
        var finalItems = dev.Count > 0 ? await ScoreDevItemsAsync(devSplit, candidatesForBest.ToList(), cancellationToken) : null;
        var finalDev = finalItems?.ToDictionary(i => i.Key, i => i.Value.Average());
        // Of the first pass's rates only the steadiest competes with the iterations (and any later pass).
        var firstPass = candidatesForBest.Where(id => KeptWeights.Polish(id).Run is > 0 and var run && run <= polishRuns.Count && polishRuns[run - 1].Pass == 1).ToList();
        var competing = finalDev is not null && firstPass.Count > 1
            ? KeptWeights.SteadiestRate(firstPass.ToDictionary(id => id, id => finalItems![id]), RateOf) is var steadiest
                ? finalDev.Where(d => !firstPass.Contains(d.Key) || d.Key == steadiest).ToDictionary() : finalDev
            : finalDev;
        var bestIteration = heldOut is not null ? KeptWeights.Choose(quality.Where(q => candidatesForBest.Contains(q.Key)).ToDictionary(), options.GuardTolerance)
            : competing is { Count: > 0 } ? KeptWeights.Choose(competing, health.Tolerance)
            : candidatesForBest.Max();
        kept.Restore(bestIteration);
        var (polishRun, polishEpoch) = KeptWeights.Polish(bestIteration);
        var (polishPass, polishRate) = polishRun > 0 ? polishRuns[polishRun - 1] : (0, 0.0);
        stopReason += polishEpoch > 0 ? $"; kept polish {polishPass} of {polishPasses} (rate {polishRate:0.####}) after {polishEpoch} epochs" : $"; kept iteration {bestIteration}";

        Log(new RoundMetrics
        {
            Event = "selected", Iteration = bestIteration, Dev = finalDev?.GetValueOrDefault(bestIteration),
            HeldOut = heldOut is not null ? quality[bestIteration] : null, ElapsedSeconds = Elapsed,
            Note = finalDev is null ? null : KeptWeights.DevNote(finalDev),
        });
        kept.SaveBest(Adapters, options.Lora);
        _folder = null;
        return new TaoRoundResult(_metrics, polishEpoch > 0 ? lastIteration : bestIteration,
            heldOut is not null ? quality[bestIteration] : finalDev?.GetValueOrDefault(bestIteration), guarded, stopReason, _trainingTokens, _trainingTime)
        {
            DevScores = finalDev?.Where(d => d.Key < PolishBase).ToDictionary(d => d.Key, d => d.Value),
            PolishDevScores = finalDev?.Where(d => d.Key > PolishBase).ToDictionary(d => d.Key - PolishBase, d => d.Value),
            PolishEpoch = polishEpoch,
            PolishPass = polishPass,
            PolishPasses = polishPasses,
            PolishRate = polishRate,
            ChosenPolishRate = chosenRate,
            Iterations = lastIteration,
            SamplingTime = _sampling.Elapsed,
            DevTime = _devClock.Elapsed,
        };
    }

    /// <summary>Candidates per input when the first iteration's budget (Candidates × training inputs) is spread over fewer inputs.</summary>
    private int SpreadCandidates(int trainInputs, int sampled) => sampled >= trainInputs ? options.Candidates
        : Math.Clamp(options.Candidates * trainInputs / Math.Max(1, sampled), options.Candidates, Math.Max(options.Candidates, options.MaxCandidates));

    /// <summary>
    /// Records the policy's dev answers under <paramref name="id"/> and scores them beside the record it is compared with
    /// (timed as dev work). Rescoring every record at every step cost a quadratic share of the round.
    /// </summary>
    private async Task<IReadOnlyDictionary<int, double>> RecordDevAsync(DevSplit devSplit, int id, int? compareWith, CancellationToken cancellationToken,
        bool score = true)
    {
        _devClock.Start();
        try
        {
            devSplit.Record(id, policy);
        }
        finally
        {
            _devClock.Stop();
        }

        return score ? await ScoreDevAsync(devSplit, compareWith is { } other ? [id, other] : [id], cancellationToken) : new Dictionary<int, double>();
    }

    /// <summary>Scores the dev records (every one, or those in <paramref name="only"/>) against one pool, timed as dev work.</summary>
    private async Task<IReadOnlyDictionary<int, double>> ScoreDevAsync(DevSplit devSplit, IReadOnlyCollection<int>? only, CancellationToken cancellationToken)
    {
        _devClock.Start();
        try
        {
            return await devSplit.ScoreAsync(scorer, cancellationToken, only);
        }
        finally
        {
            _devClock.Stop();
        }
    }

    /// <summary>As <see cref="ScoreDevAsync"/>, each dev input's score on its own (for paired comparisons).</summary>
    private async Task<IReadOnlyDictionary<int, double[]>> ScoreDevItemsAsync(DevSplit devSplit, IReadOnlyCollection<int> only, CancellationToken cancellationToken)
    {
        _devClock.Start();
        try
        {
            return await devSplit.ScoreItemsAsync(scorer, cancellationToken, only);
        }
        finally
        {
            _devClock.Stop();
        }
    }

    /// <summary>Weights of the polish's epochs are kept and scored under these ids (above any iteration's).</summary>
    private const int PolishBase = KeptWeights.PolishBase;

    /// <summary>
    /// One polish: from kept weights (the round's starting weights, or a later pass's best so far), fine-tuning on the
    /// buffer epoch by epoch at one rate on its own warm-up + cosine schedule, the way the labelled baseline trains on
    /// gold answers. Each epoch's weights are kept and scored on the dev slice (and by the caller's held-out measure when
    /// given), to the end of its schedule or until PolishPatience epochs without a better score. Its last epoch then
    /// competes with the other runs' and the iterations for the kept weights (the scores of the others are the trace).
    /// </summary>
    private sealed class PolishRun(int run, int pass, double rate, int from, int epochs, IReadOnlyList<TrainingItem> items, PolicyUpdater updater, Random random)
        : IDisposable
    {
        public int Run => run;
        public int Pass => pass;
        public double Rate => rate;
        public int From => from;
        public int Epochs => epochs;
        public IReadOnlyList<TrainingItem> Items => items;
        public PolicyUpdater Updater => updater;
        public Random Random => random;
        public int Epoch { get; set; }
        public int BestId { get; set; }
        public int Since { get; set; }

        public void Dispose() => updater.Dispose();
    }

    private PolishRun? _polishing; // the run whose weights the policy holds

    private PolishRun NewPolish(int run, int pass, double rate, int from, int epochs, IReadOnlyList<TrainingItem> items)
    {
        var polish = options with { BatchSize = options.PolishBatchSize, LearningRate = rate };
        var perEpoch = (items.Count + polish.BatchSize - 1) / polish.BatchSize;
        var updater = new PolicyUpdater(policy, tokenizer.PadId, polish, reference: null) { PlannedSteps = Math.Max(1, perEpoch * epochs) };
        return new PolishRun(run, pass, rate, from, epochs, items, updater, new Random((int)options.Seed * 131 + 17));
    }

    /// <summary>Trains <paramref name="run"/> on until <paramref name="untilEpoch"/> (or its <see cref="TaoRoundOptions.PolishPatience"/> epochs without a better score).</summary>
    private async Task PolishAsync(PolishRun run, int untilEpoch, bool scoreEpochs, ExperienceBuffer buffer, RoundFolder kept, DevSplit devSplit,
        Func<LlamaForCausalLM, CancellationToken, Task<double>>? heldOut, Dictionary<int, double> quality, CancellationToken cancellationToken)
    {
        if (!ReferenceEquals(_polishing, run))
        {
            kept.Restore(run.Epoch == 0 ? run.From : KeptWeights.PolishId(run.Run, run.Epoch)); // where this run left off
            _polishing = run;
        }

        var perEpoch = (run.Items.Count + options.PolishBatchSize - 1) / options.PolishBatchSize;
        while (run.Epoch < untilEpoch && (options.PolishPatience <= 0 || run.Since < options.PolishPatience))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var epoch = ++run.Epoch;
            var id = KeptWeights.PolishId(run.Run, epoch);
            progress?.Invoke(new RoundProgress("polish", epoch, run.Epochs, 0, perEpoch));
            Train(run.Updater.FineTune(run.Items, 1, run.Random), id, Stopwatch.StartNew());
            kept.Keep(id);
            // Every epoch's dev answers are recorded (their samples join the pool the final choice scores against);
            // they are scored now only when something reads the score.
            var devScores = await RecordDevAsync(devSplit, id, run.BestId > 0 ? run.BestId : null, cancellationToken, score: scoreEpochs);
            if (heldOut is not null)
            {
                quality[id] = await heldOut(policy, cancellationToken);
            }

            double? traced = heldOut is not null ? quality[id] : HeldOutTrace is { } trace ? await trace(policy, cancellationToken) : null;

            // Compared with the run's best so far, rescored against the same pool.
            if (heldOut is not null || scoreEpochs)
            {
                var score = heldOut is not null ? quality[id] : devScores[id];
                var best = run.BestId == 0 ? double.NegativeInfinity : heldOut is not null ? quality[run.BestId] : devScores[run.BestId];
                run.Since = score > best ? 0 : run.Since + 1;
                run.BestId = score >= best ? id : run.BestId;
            }

            Log(new RoundMetrics
            {
                Event = "polish", Iteration = id, Dev = devScores.TryGetValue(id, out var dev) ? dev : null, HeldOut = traced, BufferSize = buffer.Count,
                ElapsedSeconds = Elapsed, Note = $"pass {run.Pass}, rate {run.Rate:0.####}, epoch {epoch} over {run.Items.Count} targets" +
                    (run.From > 0 ? $", from {KeptWeights.Name(run.From)}" : string.Empty),
            });
        }
    }

    /// <summary>The best of some kept weights: by the caller's held-out score, else their dev scores taken against one pool.</summary>
    private async Task<int> BestOfAsync(List<int> ids, DevSplit devSplit, Func<LlamaForCausalLM, CancellationToken, Task<double>>? heldOut,
        Dictionary<int, double> quality, CancellationToken cancellationToken)
    {
        if (heldOut is not null)
        {
            return ids.OrderByDescending(i => quality[i]).ThenByDescending(i => i).First();
        }

        var scores = await ScoreDevAsync(devSplit, ids, cancellationToken);
        return ids.OrderByDescending(i => scores[i]).ThenByDescending(i => i).First();
    }

    /// <summary>Expert iteration (and DPO): sample every prompt, score, refresh the buffer from confident groups, train.</summary>
    private async Task<List<ScoredGroup>> ExpertIterationAsync(IReadOnlyList<TaskPrompt> batch, int iteration, ICandidateSource candidates,
        PolicyUpdater updater, ExperienceBuffer buffer, int perPrompt, CancellationToken cancellationToken)
    {
        var groups = await SampleAndScoreAsync(batch, iteration, candidates, cancellationToken, perPrompt);
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
    private async Task<List<ScoredGroup>> GrpoIterationAsync(IReadOnlyList<TaskPrompt> batch, int iteration, ICandidateSource candidates,
        PolicyUpdater updater, CancellationToken cancellationToken)
    {
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
                return g.Candidates.Select((c, i) => Item(g.Prompt, c, asSampled: true) with { Advantage = advantages[i] });
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

    private async Task<List<ScoredGroup>> SampleAndScoreAsync(IReadOnlyList<TaskPrompt> batch, int iteration, ICandidateSource candidates, CancellationToken cancellationToken,
        int perPrompt = 0)
    {
        perPrompt = perPrompt > 0 ? perPrompt : options.Candidates;
        progress?.Invoke(new RoundProgress("generate", iteration, options.Iterations, 0, batch.Count * perPrompt));
        _sampling.Start();
        try
        {
            return await SampleAndScoreUntimedAsync(batch, iteration, candidates, perPrompt, cancellationToken);
        }
        finally
        {
            _sampling.Stop();
        }
    }

    private async Task<List<ScoredGroup>> SampleAndScoreUntimedAsync(IReadOnlyList<TaskPrompt> batch, int iteration, ICandidateSource candidates, int perPrompt,
        CancellationToken cancellationToken)
    {
        var generation = options.Generation with { Seed = options.Seed * 1000 + (ulong)iteration * 7 + (ulong)_sampled++, Temperature = SamplingTemperature(options, iteration) };
        var sampled = await candidates.GenerateAsync(batch, perPrompt, generation, cancellationToken);
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
    /// The sampling temperature of an iteration: expert iteration's later iterations sample only the inputs that failed
    /// before, each one hotter (see <see cref="TaoRoundOptions.TemperatureStep"/>); otherwise the configured one.
    /// </summary>
    public static double SamplingTemperature(TaoRoundOptions options, int iteration) =>
        options.Objective == TaoObjective.BestOfN && !options.ResampleCovered && options.TemperatureStep > 0 && iteration > 1
            ? Math.Max(options.Generation.Temperature, Math.Min(options.MaxTemperature, options.Generation.Temperature + options.TemperatureStep * (iteration - 1)))
            : options.Generation.Temperature;

    /// <summary>
    /// A group's pick is trusted when its best candidate reaches the minimum score and either most of the candidates that
    /// passed verification agree with it, or it passed every check (a perfect score).
    /// </summary>
    private bool Confident(ScoredGroup group) =>
        group.Best >= options.MinBestScore && (group.Best >= 1 - 1e-9 || options.MinTopShare <= 0
            || (group.TopShare >= options.MinTopShare && group.TopCount >= options.MinTopCount));

    /// <summary>Whether a group takes part in the update: GRPO learns from any group whose scores differ; the others from confident picks.</summary>
    private bool Teaches(ScoredGroup group) =>
        options.Objective is TaoObjective.Grpo or TaoObjective.DrGrpo ? !group.Flat && group.Best >= options.MinBestScore : Confident(group);

    private async Task<RoundMetrics> SummariseAsync(int iteration, List<ScoredGroup> groups, ExperienceBuffer buffer, int trainPrompts, CancellationToken cancellationToken)
    {
        var summary = await IterationReport.SummariseAsync(iteration, groups, buffer, Confident, Teaches, options.MinBestScore, Oracle, Elapsed, cancellationToken)
            with { Coverage = trainPrompts == 0 ? null : (double)buffer.Count / trainPrompts };
        Log(summary);
        WriteSamples(iteration, groups);
        return summary;
    }

    /// <summary>
    /// A candidate as a training sequence. Targets to imitate (expert iteration, the polish, DPO's pairs) are encoded the
    /// way the labelled baseline encodes a gold answer (<see cref="SupervisedTrainer.Completion"/>), not as the token ids
    /// that happened to be sampled: grounded sampling draws a span token by token and often splits it differently from
    /// the tokenizer (PO-4531 as P·O·-·4·5·3·1), and imitating those splits taught docqa's polish to 53 % where the same
    /// answers encoded as gold reached the baseline's 63 %. On-policy GRPO (<paramref name="asSampled"/>) needs the sampled
    /// ids: its ratios compare the policy's probabilities of exactly what was sampled.
    /// </summary>
    private TrainingItem Item(TaskPrompt prompt, Candidate candidate, bool asSampled = false) =>
        new(tokenizer.EncodePrompt(prompt.Messages), AnswerTokens(tokenizer, candidate, asSampled));

    /// <summary>The answer part of <see cref="Item"/>: the candidate encoded as a gold answer is, or as sampled; end of sequence when it stopped.</summary>
    internal static int[] AnswerTokens(TextTokenizer tokenizer, Candidate candidate, bool asSampled)
    {
        if (asSampled && candidate.Tokens is { } sampled)
        {
            return candidate.Stopped ? [.. sampled, tokenizer.EosId] : sampled;
        }

        var gold = SupervisedTrainer.Completion(tokenizer, candidate.Text); // ends with end of sequence
        return candidate.Stopped ? gold : gold[..^1];
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

    /// <summary>
    /// Every scored group of the iteration in candidates.jsonl (the external trainer's candidate set shape, with the
    /// iteration): what the scorer rewarded, for people to check and for tao export --round.
    /// </summary>
    private void WriteSamples(int iteration, List<ScoredGroup> groups) =>
        _folder?.Append(RoundArtefacts.CandidatesFile, groups.Select(g => CandidateSetWriter.Line(g, Confident(g), Labelled?.GetValueOrDefault(g.Prompt.Id), iteration).ToJsonString()));
}
