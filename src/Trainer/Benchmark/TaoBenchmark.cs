using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Evaluation;
using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tasks;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Trainer.Benchmark;

/// <summary>
/// Our small-scale version of the TAO paper's Table 3 and Figure 3. Per task family and traffic seed: the base model,
/// supervised fine-tuning on the tuning inputs WITH gold answers (rate and epochs chosen on a dev slice), and TAO on the
/// same inputs WITHOUT them, all evaluated on held-out inputs that no tuning saw. Gains are paired comparisons over the
/// pooled held-out items of all seeds (bootstrap interval, McNemar's test); every item's answers are written to
/// items.jsonl so anyone can recompute.
/// </summary>
/// <param name="gate">The flywheel's promotion rule, for the rounds curve: a round's model is served only when it passes.
/// Without it every round's model is kept whatever it scores.</param>
public sealed class TaoBenchmark(Tao.Storage.ClickHouseStore store, IReadOnlyList<ITaskFamily> families, TaoBenchmarkOptions options, string folder,
    Action<string>? log = null, RoundGate? gate = null)
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public async Task<TaoBenchmarkReport> RunAsync(string modelsRoot, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        var report = new TaoBenchmarkReport { Options = options };
        var clock = Stopwatch.StartNew();
        var recipe = options.Base;
        foreach (var family in families)
        {
            await family.PrepareAsync(cancellationToken);
        }

        var built = await BaseModelBuilder.EnsureAsync(modelsRoot, recipe, store, log, cancellationToken);
        report.BaseBuildSeconds = built.BuildTime.TotalSeconds;
        report.BaseFromCache = built.FromCache;
        report.BaseModel = Path.GetFileName(built.Folder);
        Say(built.FromCache ? $"base model: reused from {built.Folder}" : $"base model: built in {built.BuildTime.TotalSeconds:0} s");
        var tokenizer = TextTokenizer.Load(built.Folder);
        using var baseModel = ModelCheckpoint.Load(built.Folder);
        var probe = families[0].Generate(recipe.Seed, recipe.BaseCount(families[0]), 0, 64, options.Seeds[0]);
        report.Throughput = ThroughputProbe.Measure(baseModel, tokenizer, built.Training, probe.HeldOut, cancellationToken);

        // The work runs as jobs on a few workers, each torch operation on one thread: on this model's small matrices a
        // second thread adds ~30 % to one job, while a second job on the other core adds ~100 % (measured; docs/benchmarks.md).
        // One thread per operation also makes the figures the same whatever the worker count or the core count.
        var workers = Math.Max(1, options.Workers);
        var threads = torch.get_num_threads();
        if (workers > 1)
        {
            torch.set_num_threads(1);
        }

        var runs = families.Select(f => new FamilyRun(f, options.Seeds.Select(seed =>
                new SeedRun(seed, f.Generate(recipe.Seed, recipe.BaseCount(f), options.SizeOf(f).Tune, options.SizeOf(f).HeldOut, seed))).ToList())).ToList();
        // The costliest family's jobs first (cost: the characters of its tuning inputs, which every epoch and sample reads).
        var byCost = runs.OrderByDescending(r => r.Seeds[0].Split.Tuning.Sum(e => (long)e.Prompt.Text.Length)).ToList();
        try
        {
            var pool = new JobPool(workers);
            // Queued longest first: each family's labelled grid (the later seeds reuse its rate), then the TAO rounds, the
            // later seeds' baselines, the base model's evaluations, and the curves.
            foreach (var run in byCost)
            {
                var first = run.Seeds[0];
                first.Ft = pool.Run(() => FineTuneAsync(run, first, baseModel, tokenizer, options.FtRates, cancellationToken));
            }

            foreach (var run in byCost)
            {
                foreach (var seedRun in run.Seeds)
                {
                    seedRun.Tao = pool.Run(() => TaoSeedAsync(run, seedRun, baseModel, tokenizer, cancellationToken));
                }
            }

            foreach (var run in byCost)
            {
                foreach (var seedRun in run.Seeds.Skip(1))
                {
                    seedRun.Ft = pool.Run(() => FineTuneAsync(run, seedRun, baseModel, tokenizer, run.ChosenRates, cancellationToken), run.Seeds[0].Ft!);
                }
            }

            foreach (var run in byCost)
            {
                foreach (var seedRun in run.Seeds)
                {
                    seedRun.Base = pool.Run(() => BaseSeedAsync(run, seedRun, baseModel, tokenizer, cancellationToken));
                }

                ScheduleFirstSeedExtras(pool, run, baseModel, tokenizer, cancellationToken);
            }

            await pool.RunAsync();
        }
        finally
        {
            torch.set_num_threads(threads);
        }

        await using var items = new StreamWriter(Path.Combine(folder, "items.jsonl"));
        foreach (var run in runs)
        {
            report.Families.Add(await SummariseFamilyAsync(run, items, cancellationToken));
        }

        await File.WriteAllTextAsync(Path.Combine(folder, "report.partial.json"), JsonSerializer.Serialize(report, s_json), cancellationToken);
        if (report.Throughput is { } throughput && double.IsNaN(throughput.TrainingTokensPerSecond))
        {
            lock (_taoTokensPerSecond)
            {
                throughput.TrainingTokensPerSecond = _taoTokensPerSecond.Count > 0 ? _taoTokensPerSecond.Average() : 0;
            }

            throughput.TrainingGflops = 6.0 * throughput.Parameters * throughput.TrainingTokensPerSecond / 1e9;
        }

        report.Workers = workers;
        report.Kernels = TorchNumerics.Kernels;
        report.ElapsedSeconds = clock.Elapsed.TotalSeconds;
        return report;
    }

    private readonly List<double> _taoTokensPerSecond = [];
    private readonly SemaphoreSlim _roundsFile = new(1, 1);

    /// <summary>One family's seeds and what the first seed's jobs hand on (the baseline's chosen rate, the curves).</summary>
    private sealed class FamilyRun(ITaskFamily family, IReadOnlyList<SeedRun> seeds)
    {
        public ITaskFamily Family => family;
        public IReadOnlyList<SeedRun> Seeds => seeds;
        public FamilyResult Result { get; } = new() { Family = family.Name };

        /// <summary>The labelled baseline's rate chosen on the first seed's dev slice, which the later seeds reuse.</summary>
        public double[]? ChosenRates { get; set; }

        public ObjectiveResult?[] Objectives { get; set; } = [];
        /// <summary>Held-out answers right or not, by budget (index into the options' budgets) and seed.</summary>
        public IReadOnlyList<bool>?[,] Budgets { get; set; } = new IReadOnlyList<bool>?[0, 0];
    }

    /// <summary>One seed of one family: its inputs, the three systems' evaluations, and the jobs that produce them.</summary>
    private sealed class SeedRun(int seed, TaskSplit split)
    {
        public int Seed => seed;
        public TaskSplit Split => split;
        public SeedResult Result { get; } = new() { Seed = seed };
        public Task? Base { get; set; }
        public Task? Ft { get; set; }
        public Task? Tao { get; set; }
        public TaskEvaluator.Result? Before { get; set; }
        public bool[]? Reach { get; set; }
        public TaskEvaluator.Result? AfterFt { get; set; }
        public TaskEvaluator.Result? AfterTao { get; set; }

        /// <summary>
        /// The polish rate (a factor of the round's rate) this seed's TAO round chose on its label-free dev slice, which
        /// the curve's other budgets on this seed reuse. Not the later seeds': the choice is worth up to 12 points on
        /// units (seed 2: 68.5 % at the first seed's 3e-3, 81.0 % at its own 1e-2, which its dev slice had picked).
        /// </summary>
        public double[]? PolishFactors { get; set; }
        public HashSet<string> Dev(TaoBenchmarkOptions options) => DevSlice.Choose(split.Tuning.Select(e => e.Prompt.Id), (ulong)seed, options.Round.DevFraction,
            options.Round.MinDevPrompts, options.Round.MaxDevPrompts);
    }

    /// <summary>
    /// Runs queued jobs on <paramref name="workers"/> workers: each takes the first queued job whose dependencies are done, so
    /// the queue's order is the priority. Jobs are queued first and run by <see cref="RunAsync"/>; after a failure no new
    /// job starts, and the failure is what <see cref="RunAsync"/> throws.
    /// </summary>
    private sealed class JobPool(int workers)
    {
        private sealed record Entry(Func<Task> Job, Task[] After, TaskCompletionSource Done);

        private readonly List<Entry> _queue = [];
        private volatile bool _failed;

        public Task Run(Func<Task> job, params Task[] after)
        {
            var entry = new Entry(job, after, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            lock (_queue)
            {
                _queue.Add(entry);
            }

            return entry.Done.Task;
        }

        public Task RunAsync() => Task.WhenAll(Enumerable.Range(0, workers).Select(_ => Task.Run(WorkAsync)));

        private async Task WorkAsync()
        {
            while (!_failed)
            {
                Entry? next;
                Task[] pending;
                lock (_queue)
                {
                    if (_queue.Count == 0)
                    {
                        return;
                    }

                    next = _queue.FirstOrDefault(e => e.After.All(t => t.IsCompleted));
                    _ = next is not null && _queue.Remove(next);
                    pending = next is null ? _queue.SelectMany(e => e.After).Where(t => !t.IsCompleted).Distinct().ToArray() : [];
                }

                if (next is null)
                {
                    await Task.WhenAny(pending); // a job another worker runs
                    continue;
                }

                try
                {
                    await Task.WhenAll(next.After); // rethrows a dependency's failure
                    await next.Job();
                    next.Done.SetResult();
                }
                catch (Exception e)
                {
                    _failed = true;
                    next.Done.SetException(e);
                    throw;
                }
            }
        }
    }

    private async Task BaseSeedAsync(FamilyRun run, SeedRun seedRun, LlamaForCausalLM baseModel, TextTokenizer tokenizer, CancellationToken cancellationToken)
    {
        var (family, split, result) = (run.Family, seedRun.Split, seedRun.Result);
        seedRun.Before = await TaskEvaluator.EvaluateAsync(baseModel, tokenizer, family, split.HeldOut, cancellationToken);
        result.Base = seedRun.Before.Accuracy;
        var (passAtN, pickAtN, reach) = await SelectionQualityAsync(baseModel, tokenizer, family, split.HeldOut, seedRun.Seed, cancellationToken);
        (result.PassAtN, result.PickAtN, seedRun.Reach) = (passAtN, pickAtN, reach);
        Say($"{family.Name} seed {seedRun.Seed}: base {seedRun.Before.Accuracy:P1} on {split.HeldOut.Count} held-out inputs; with {options.Candidates} samples " +
            $"a right answer is among them {result.PassAtN:P1}, the label-free pick is right {result.PickAtN:P1}");
    }

    private async Task FineTuneAsync(FamilyRun run, SeedRun seedRun, LlamaForCausalLM baseModel, TextTokenizer tokenizer, IReadOnlyList<double>? rates,
        CancellationToken cancellationToken)
    {
        var (family, split, result) = (run.Family, seedRun.Split, seedRun.Result);
        var watch = Stopwatch.StartNew();
        using var ft = ModelCopies.Frozen(baseModel);
        var tuned = await new FineTuneBaseline(baseModel, tokenizer, family).TrainAsync(ft, split.Tuning, seedRun.Dev(options), rates ?? options.FtRates,
            options.FtEpochs, options.FtBatchSize, seedRun.Seed, cancellationToken, HeldOutTrace(family, tokenizer, split));
        if (options.TraceHeldOut)
        {
            await AppendRoundsAsync(tuned.Curve.Select(p => JsonSerializer.Serialize(new { family = family.Name, seed = seedRun.Seed, ft = p }, s_json)).ToList(),
                cancellationToken);
        }

        if (seedRun == run.Seeds[0])
        {
            run.ChosenRates = tuned.LearningRate > 0 ? [tuned.LearningRate] : null; // the later seeds reuse the rate chosen here
        }

        seedRun.AfterFt = await TaskEvaluator.EvaluateAsync(ft, tokenizer, family, split.HeldOut, cancellationToken);
        (result.Ft, result.FtLearningRate, result.FtEpochs, result.FtSteps, result.FtDev) =
            (seedRun.AfterFt.Accuracy, tuned.LearningRate, tuned.Epochs, tuned.Steps, tuned.DevAccuracy);
        Say($"{family.Name} seed {seedRun.Seed}: labelled fine-tuning {seedRun.AfterFt.Accuracy:P1} (rate {tuned.LearningRate:0.####}, {tuned.Epochs} epochs, " +
            $"dev {tuned.DevAccuracy:P1}, {watch.Elapsed.TotalSeconds:0} s)");
    }

    private async Task TaoSeedAsync(FamilyRun run, SeedRun seedRun, LlamaForCausalLM baseModel, TextTokenizer tokenizer, CancellationToken cancellationToken)
    {
        var (family, result) = (run.Family, seedRun.Result);
        var watch = Stopwatch.StartNew();
        var roundOptions = RoundOptions(family, seedRun.Seed, options.Candidates, options.Round.Objective);
        var (afterTao, round) = await TaoAsync(family, baseModel, tokenizer, seedRun.Split, roundOptions, cancellationToken);
        seedRun.PolishFactors = round.ChosenPolishRate > 0 ? [round.ChosenPolishRate / roundOptions.LearningRate] : null;

        seedRun.AfterTao = afterTao;
        result.Tao = afterTao.Accuracy;
        result.TaoSeconds = watch.Elapsed.TotalSeconds;
        result.TaoSteps = round.Metrics.Count(m => m.Event == "step");
        result.TaoBestIteration = round.BestIteration;
        result.TaoIterations = round.Iterations;
        result.TaoPolishEpoch = round.PolishEpoch;
        result.TaoPolishPass = round.PolishPass;
        result.TaoPolishPasses = round.PolishPasses;
        result.TaoPolishRate = round.PolishRate;
        result.TaoCoverage = round.Metrics.LastOrDefault(m => m.Event == "iteration")?.Coverage ?? 0;
        result.TaoStopReason = round.StopReason;
        result.Iterations.AddRange(Iterations(round));
        lock (_taoTokensPerSecond)
        {
            _taoTokensPerSecond.Add(round.TrainingTokensPerSecond);
        }

        Say($"{family.Name} seed {seedRun.Seed}: TAO {afterTao.Accuracy:P1} ({round.Iterations} iterations, targets for {result.TaoCoverage:P0} of the training inputs, " +
            $"{result.TaoSteps} steps, {watch.Elapsed.TotalSeconds:0} s: sampling {round.SamplingTime.TotalSeconds:0}, training {round.TrainingTime.TotalSeconds:0}, " +
            $"dev {round.DevTime.TotalSeconds:0}; {round.StopReason})");
    }

    /// <summary>The first seed's objective comparison and curves, each a job of its own.</summary>
    private void ScheduleFirstSeedExtras(JobPool pool, FamilyRun run, LlamaForCausalLM baseModel, TextTokenizer tokenizer, CancellationToken cancellationToken)
    {
        var first = run.Seeds[0];
        var family = run.Family;
        run.Objectives = new ObjectiveResult?[options.CompareObjectives.Length];
        for (var i = 0; i < options.CompareObjectives.Length; i++)
        {
            var (at, objective) = (i, options.CompareObjectives[i]);
            pool.Run(async () =>
            {
                var watch = Stopwatch.StartNew();
                var (after, _) = await TaoAsync(family, baseModel, tokenizer, first.Split, RoundOptions(family, first.Seed, options.Candidates, objective), cancellationToken);
                var comparison = PairedComparison.Compute(first.Before!.Right.Select((r, j) => (r ? 1.0 : 0, after.Right[j] ? 1.0 : 0, "all")).ToList());
                run.Objectives[at] = new ObjectiveResult { Objective = objective.ToString(), Accuracy = after.Accuracy, VsBase = comparison, Seconds = watch.Elapsed.TotalSeconds };
                Say($"{family.Name}: {objective} at {options.Candidates} candidates {after.Accuracy:P1} ({watch.Elapsed.TotalSeconds:0} s)");
            }, first.Base!);
        }

        if (!options.Curves)
        {
            return;
        }

        // Our Figure 3: held-out accuracy against candidates per input (the tuning compute), on every seed; the main
        // table's budget is its own rounds. A seed's other budgets reuse the polish rate its main round chose.
        run.Budgets = new IReadOnlyList<bool>?[options.Budgets.Length, run.Seeds.Count];
        for (var i = 0; i < options.Budgets.Length; i++)
        {
            if (options.Budgets[i] == options.Candidates)
            {
                continue;
            }

            for (var j = 0; j < run.Seeds.Count; j++)
            {
                var (at, column, budget, seedRun) = (i, j, options.Budgets[i], run.Seeds[j]);
                pool.Run(async () =>
                {
                    var roundOptions = RoundOptions(family, seedRun.Seed, budget, options.Round.Objective, seedRun.PolishFactors);
                    var (after, _) = await TaoAsync(family, baseModel, tokenizer, seedRun.Split, roundOptions, cancellationToken);
                    run.Budgets[at, column] = after.Right;
                    Say($"{family.Name} seed {seedRun.Seed}: {budget} candidates per input → {after.Accuracy:P1}");
                }, seedRun.Tao!);
            }
        }

        if (options.Rounds > 0)
        {
            pool.Run(() => RoundsCurveAsync(run, baseModel, tokenizer, first.Seed, cancellationToken), first.Ft!);
        }
    }

    /// <summary>The family's pooled comparisons, in seed order, and every held-out item's answers.</summary>
    private async Task<FamilyResult> SummariseFamilyAsync(FamilyRun run, StreamWriter items, CancellationToken cancellationToken)
    {
        var family = run.Family;
        var result = run.Result;
        var baseVsTao = new List<(double, double, string)>();
        var ftVsTao = new List<(double, double, string)>();
        var baseVsFt = new List<(double, double, string)>();
        var withinReach = new List<(double, double, string)>(); // FT vs TAO on the items some base sample got right
        var beyondReach = new List<(double, double, string)>();
        foreach (var seedRun in run.Seeds)
        {
            var (split, seed) = (seedRun.Split, seedRun.Seed);
            var (before, afterFt, afterTao, reach) = (seedRun.Before!, seedRun.AfterFt!, seedRun.AfterTao!, seedRun.Reach!);
            result.TuningInputs = split.Tuning.Count;
            result.HeldOutPerSeed = split.HeldOut.Count;
            for (var i = 0; i < split.HeldOut.Count; i++)
            {
                var stratum = $"seed{seed}";
                baseVsTao.Add((before.Right[i] ? 1 : 0, afterTao.Right[i] ? 1 : 0, stratum));
                ftVsTao.Add((afterFt.Right[i] ? 1 : 0, afterTao.Right[i] ? 1 : 0, stratum));
                baseVsFt.Add((before.Right[i] ? 1 : 0, afterFt.Right[i] ? 1 : 0, stratum));
                (reach[i] ? withinReach : beyondReach).Add((afterFt.Right[i] ? 1 : 0, afterTao.Right[i] ? 1 : 0, stratum));
                await items.WriteLineAsync(JsonSerializer.Serialize(new
                {
                    family = family.Name,
                    seed,
                    id = split.HeldOut[i].Prompt.Id,
                    question = PromptQuestion.Of(split.HeldOut[i].Prompt.Text),
                    gold = split.HeldOut[i].Gold,
                    base_reach = reach[i],
                    @base = new { answer = before.Answers[i], right = before.Right[i] },
                    ft = new { answer = afterFt.Answers[i], right = afterFt.Right[i] },
                    tao = new { answer = afterTao.Answers[i], right = afterTao.Right[i] },
                }, s_json).AsMemory(), cancellationToken);
            }

            result.Seeds.Add(seedRun.Result);
        }

        result.Objectives.AddRange(run.Objectives.OfType<ObjectiveResult>());
        if (run.Budgets.Length > 0)
        {
            result.Budgets.Add(Point(0, run.Seeds.Select(s => s.Before!.Right).ToList()));
            for (var i = 0; i < options.Budgets.Length; i++)
            {
                var at = i;
                result.Budgets.Add(Point(options.Budgets[i], run.Seeds.Select((s, j) => options.Budgets[at] == options.Candidates ? s.AfterTao!.Right : run.Budgets[at, j]!).ToList()));
            }
        }

        result.TaoVsBase = PairedComparison.Compute(baseVsTao);
        result.TaoVsFt = PairedComparison.Compute(ftVsTao);
        result.FtVsBase = PairedComparison.Compute(baseVsFt);
        result.TaoVsBaseAcrossSeeds = PairedComparison.AcrossRuns([.. result.Seeds.Select(s => s.Tao - s.Base)]);
        result.TaoVsFtAcrossSeeds = PairedComparison.AcrossRuns([.. result.Seeds.Select(s => s.Tao - s.Ft)]);
        result.ReachShare = (double)withinReach.Count / Math.Max(1, withinReach.Count + beyondReach.Count);
        result.TaoVsFtWithinReach = withinReach.Count > 0 ? PairedComparison.Compute(withinReach) : null;
        result.TaoVsFtBeyondReach = beyondReach.Count > 0 ? PairedComparison.Compute(beyondReach) : null;
        (result.Base, result.Tao, result.Ft) = (result.TaoVsBase.MeanA, result.TaoVsBase.MeanB, result.TaoVsFt.MeanA);
        result.BaseTokensPerAnswer = run.Seeds.Average(s => s.Before!.TokensPerAnswer);
        result.TaoTokensPerAnswer = run.Seeds.Average(s => s.AfterTao!.TokensPerAnswer);
        Say($"{family.Name}: TAO − base {result.TaoVsBase.Gain * 100:+0.0;-0.0} points [{result.TaoVsBase.Low * 100:+0.0;-0.0}, {result.TaoVsBase.High * 100:+0.0;-0.0}], " +
            $"TAO − FT {result.TaoVsFt.Gain * 100:+0.0;-0.0} [{result.TaoVsFt.Low * 100:+0.0;-0.0}, {result.TaoVsFt.High * 100:+0.0;-0.0}]");
        return result;
    }

    /// <summary>With <see cref="TaoBenchmarkOptions.TraceHeldOut"/>, a weights' held-out accuracy, for the trace only; else null.</summary>
    private Func<LlamaForCausalLM, CancellationToken, Task<double>>? HeldOutTrace(ITaskFamily family, TextTokenizer tokenizer, TaskSplit split) =>
        options.TraceHeldOut ? async (model, ct) => (await TaskEvaluator.EvaluateAsync(model, tokenizer, family, split.HeldOut, ct)).Accuracy : null;

    /// <summary>Appends lines to rounds.jsonl (the rounds and baselines of other jobs append too).</summary>
    private async Task AppendRoundsAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        await _roundsFile.WaitAsync(cancellationToken);
        try
        {
            await File.AppendAllLinesAsync(Path.Combine(folder, "rounds.jsonl"), lines, cancellationToken);
        }
        finally
        {
            _roundsFile.Release();
        }
    }

    private async Task<(TaskEvaluator.Result Evaluation, TaoRoundResult Round)> TaoAsync(ITaskFamily family, LlamaForCausalLM baseModel,
        TextTokenizer tokenizer, TaskSplit split, TaoRoundOptions roundOptions, CancellationToken cancellationToken, LlamaForCausalLM? continueFrom = null,
        IReadOnlyList<LabelledExample>? tuning = null)
    {
        using var policy = ModelCopies.Frozen(continueFrom ?? baseModel);
        foreach (var parameter in policy.parameters())
        {
            parameter.requires_grad = true;
        }

        var inputs = tuning ?? split.Tuning;
        var byId = inputs.ToDictionary(e => e.Prompt.Id, StringComparer.Ordinal);
        var round = new TaoRound(policy, tokenizer, family.Scorer(), roundOptions,
            progress: p => Progress(family.Name, roundOptions.Candidates, p))
        {
            // Diagnostics only: the round reports how many of its chosen targets are right; nothing in it reads this.
            Oracle = async (prompt, texts, ct) =>
            {
                var right = new bool[texts.Count];
                for (var i = 0; i < texts.Count; i++)
                {
                    right[i] = await family.IsCorrectAsync(byId[prompt.Id], texts[i], ct);
                }

                return right;
            },
            HeldOutTrace = HeldOutTrace(family, tokenizer, split),
        };
        var outcome = await round.RunAsync(inputs.Select(e => e.Prompt).ToList(), heldOut: null, cancellationToken);
        // The round's trace without its optimiser steps (iterations, dev scores, polish epochs, the final choice), for diagnosis.
        var trace = outcome.Metrics.Where(m => m.Event != "step").Select(m => JsonSerializer.Serialize(new
        {
            family = family.Name, seed = roundOptions.Seed, candidates = roundOptions.Candidates, objective = roundOptions.Objective.ToString(), metrics = m,
        }, s_json)).ToList();
        await AppendRoundsAsync(trace, cancellationToken);

        var evaluation = await TaskEvaluator.EvaluateAsync(policy, tokenizer, family, split.HeldOut, cancellationToken);
        if (continueFrom is not null)
        {
            ModelCopies.CopyWeights(policy, continueFrom);
        }

        return (evaluation, outcome);
    }

    /// <summary>
    /// "Gets better the more it is used": consecutive rounds, each on fresh inputs, each continuing from the model served
    /// after the last one, all evaluated on the same held-out inputs; labelled fine-tuning on all the rounds' inputs as the
    /// reference. With the flywheel's gate, a round's model is served only when the gate promotes it (judged on gate
    /// examples of their own, neither tuned on nor evaluated on), as the flywheel does; the point is then the served model's,
    /// with the candidate's own accuracy beside it.
    /// </summary>
    private async Task RoundsCurveAsync(FamilyRun run, LlamaForCausalLM baseModel, TextTokenizer tokenizer, int seed, CancellationToken cancellationToken)
    {
        var (family, result, ftRates) = (run.Family, run.Result, run.ChosenRates);
        var perRound = options.RoundInputs.TryGetValue(family.Name, out var count) ? count : 100;
        var byUnit = family.Name == "docqa" ? 5 : 1; // document questions come five per document
        var heldOutUnits = options.SizeOf(family).HeldOut;
        var gateUnits = gate is null ? 0 : ((options.RoundGateItems.TryGetValue(family.Name, out var items) ? items : 400) + byUnit - 1) / byUnit;
        var generated = family.Generate(options.Base.Seed, options.Base.BaseCount(family), perRound * options.Rounds, heldOutUnits + gateUnits, seed + 1000);
        var gateExamples = generated.HeldOut.Skip(heldOutUnits * byUnit).ToList();
        var split = generated with { HeldOut = generated.HeldOut.Take(heldOutUnits * byUnit).ToList() };
        using var live = ModelCopies.Frozen(baseModel);
        var served = await TaskEvaluator.EvaluateAsync(live, tokenizer, family, split.HeldOut, cancellationToken);
        result.Rounds.Add(Point(0, served.Right));
        for (var round = 1; round <= options.Rounds; round++)
        {
            var inputs = split.Tuning.Skip((round - 1) * perRound * byUnit).Take(perRound * byUnit).ToList();
            var roundOptions = RoundOptions(family, seed + round, options.Candidates, options.Round.Objective) with { Iterations = options.RoundIterations };
            using var before = gate is null ? null : ModelCopies.Frozen(live);
            var (after, _) = await TaoAsync(family, baseModel, tokenizer, split, roundOptions, cancellationToken, continueFrom: live, tuning: inputs);
            if (gate is null || before is null)
            {
                served = after;
                result.Rounds.Add(Point(round, after.Right));
                Say($"{family.Name}: round {round} on {inputs.Count} fresh inputs → {after.Accuracy:P1}");
                continue;
            }

            var decision = await gate(family, before, live, tokenizer, gateExamples, cancellationToken);
            if (decision.Promote)
            {
                served = after;
            }
            else
            {
                ModelCopies.CopyWeights(before, live);
            }

            result.Rounds.Add(Point(round, served.Right) with { Promoted = decision.Promote, Candidate = after.Accuracy });
            Say($"{family.Name}: round {round} on {inputs.Count} fresh inputs → candidate {after.Accuracy:P1}, " +
                $"{(decision.Promote ? "promoted" : "not promoted")} ({decision.Reason}); served {served.Accuracy:P1}");
        }

        using var ft = ModelCopies.Frozen(baseModel);
        var dev = DevSlice.Choose(split.Tuning.Select(e => e.Prompt.Id), (ulong)seed, options.Round.DevFraction, options.Round.MinDevPrompts, options.Round.MaxDevPrompts);
        await new FineTuneBaseline(baseModel, tokenizer, family).TrainAsync(ft, split.Tuning, dev, ftRates ?? options.FtRates, options.FtEpochs,
            options.FtBatchSize, seed, cancellationToken);
        var afterFt = await TaskEvaluator.EvaluateAsync(ft, tokenizer, family, split.HeldOut, cancellationToken);
        result.RoundsFt = Point(options.Rounds, afterFt.Right);
        Say($"{family.Name}: labelled fine-tuning on all {split.Tuning.Count} round inputs → {afterFt.Accuracy:P1}");
    }

    private static CurvePoint Point(int x, IReadOnlyList<bool> right) => Point(x, [right]);

    /// <summary>Accuracy pooled over the seeds' held-out items, its interval resampling the items within each seed, and each seed's own.</summary>
    private static CurvePoint Point(int x, IReadOnlyList<IReadOnlyList<bool>> bySeed)
    {
        var interval = PairedComparison.Compute(bySeed.SelectMany((right, seed) => right.Select(r => (0.0, r ? 1.0 : 0.0, $"seed{seed}"))).ToList());
        return new CurvePoint(x, interval.MeanB, interval.Low, interval.High)
        {
            PerSeed = bySeed.Count > 1 ? bySeed.Select(right => right.Count(r => r) / (double)Math.Max(1, right.Count)).ToList() : null,
        };
    }

    /// <summary>The round's options; with <paramref name="polishFactors"/>, the polish tries only those rates (a choice made before).</summary>
    private TaoRoundOptions RoundOptions(ITaskFamily family, int seed, int candidates, TaoObjective objective, double[]? polishFactors = null) => options.Round with
    {
        PolishRateFactors = polishFactors ?? options.Round.PolishRateFactors,
        Objective = objective,
        Candidates = candidates,
        Seed = (ulong)seed,
        LearningRate = objective == TaoObjective.BestOfN ? options.Round.LearningRate : options.Round.LearningRate * 0.3,
        Generation = options.Round.Generation with { MaxNewTokens = family.MaxAnswerTokens, GroundIn = options.Grounded ? family.GroundIn : null },
    };

    private static IEnumerable<IterationResult> Iterations(TaoRoundResult round)
    {
        var devs = round.DevScores ?? new Dictionary<int, double>();
        return round.Metrics.Where(m => m.Event == "iteration").Select(m => new IterationResult
        {
            Iteration = m.Iteration, TargetPrecision = m.TargetPrecision, PickAccuracy = m.PickAccuracy, PassAtN = m.PassAtN,
            LabelFreePass = m.LabelFreePass, Kept = (m.Groups ?? 0) - (m.SkippedGroups ?? 0), Groups = m.Groups ?? 0, Buffer = m.BufferSize, Coverage = m.Coverage,
            Entropy = m.Entropy, AnswerTokens = m.AnswerTokens, Dev = devs.TryGetValue(m.Iteration, out var dev) ? dev : null,
        });
    }

    /// <summary>
    /// How much room tuning has on held-out inputs: how often N samples of the base contain a right answer (pass@N), and
    /// how often the label-free scorer's favourite is right. Measured, not used by any tuning.
    /// </summary>
    private async Task<(double PassAtN, double Pick, bool[] Reach)> SelectionQualityAsync(LlamaForCausalLM model, TextTokenizer tokenizer, ITaskFamily family,
        IReadOnlyList<LabelledExample> examples, int seed, CancellationToken cancellationToken)
    {
        var samples = await new LocalCandidateSource(model, tokenizer).GenerateAsync(examples.Select(e => e.Prompt).ToList(), options.Candidates,
            options.Round.Generation with { MaxNewTokens = family.MaxAnswerTokens, Seed = (ulong)(99 + seed) }, cancellationToken);
        var scorer = family.Scorer();
        int any = 0, picked = 0;
        var reach = new bool[examples.Count];
        for (var i = 0; i < examples.Count; i++)
        {
            var texts = samples[i].Select(c => c.Text).ToList();
            var scores = await scorer.ScoreAsync(new ScoringGroup(examples[i].Prompt.Text, texts, examples[i].Prompt.Context), cancellationToken);
            var right = new bool[texts.Count];
            for (var j = 0; j < texts.Count; j++)
            {
                right[j] = await family.IsCorrectAsync(examples[i], texts[j], cancellationToken);
            }

            reach[i] = right.Any(r => r);
            any += reach[i] ? 1 : 0;
            picked += right[Array.IndexOf(scores, scores.Max())] ? 1 : 0;
        }

        return ((double)any / examples.Count, (double)picked / examples.Count, reach);
    }

    private DateTime _lastProgress = DateTime.MinValue;

    private void Progress(string family, int candidates, RoundProgress p)
    {
        if (DateTime.UtcNow - _lastProgress < TimeSpan.FromSeconds(15))
        {
            return;
        }

        _lastProgress = DateTime.UtcNow;
        Say($"  {family} TAO ×{candidates}: iteration {p.Iteration}/{p.Iterations}, {p.Stage} {p.Done}/{p.Total}");
    }

    private void Say(string message) => log?.Invoke(message);
}
