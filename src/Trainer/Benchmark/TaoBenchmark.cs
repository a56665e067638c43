using System.Diagnostics;
using System.Text.Json;
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
public sealed class TaoBenchmark(Tao.Storage.ClickHouseStore store, IReadOnlyList<ITaskFamily> families, TaoBenchmarkOptions options, string folder,
    Action<string>? log = null)
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
        var first = families[0].Generate(recipe.Seed, recipe.BaseCount(families[0]), 0, 64, options.Seeds[0]);
        report.Throughput = ThroughputProbe.Measure(baseModel, tokenizer, built.Training, first.HeldOut, cancellationToken);

        await using var items = new StreamWriter(Path.Combine(folder, "items.jsonl"));
        foreach (var family in families)
        {
            var result = await RunFamilyAsync(family, baseModel, tokenizer, items, cancellationToken);
            report.Families.Add(result);
            await File.WriteAllTextAsync(Path.Combine(folder, "report.partial.json"), JsonSerializer.Serialize(report, s_json), cancellationToken);
        }

        if (report.Throughput is { } throughput && double.IsNaN(throughput.TrainingTokensPerSecond))
        {
            throughput.TrainingTokensPerSecond = _taoTokensPerSecond.Count > 0 ? _taoTokensPerSecond.Average() : 0;
            throughput.TrainingGflops = 6.0 * throughput.Parameters * throughput.TrainingTokensPerSecond / 1e9;
        }

        report.ElapsedSeconds = clock.Elapsed.TotalSeconds;
        return report;
    }

    private readonly List<double> _taoTokensPerSecond = [];

    private async Task<FamilyResult> RunFamilyAsync(ITaskFamily family, LlamaForCausalLM baseModel, TextTokenizer tokenizer, StreamWriter items,
        CancellationToken cancellationToken)
    {
        var recipe = options.Base;
        var (tune, heldOut) = options.SizeOf(family);
        var result = new FamilyResult { Family = family.Name };
        var baseVsTao = new List<(double, double, string)>();
        var ftVsTao = new List<(double, double, string)>();
        var baseVsFt = new List<(double, double, string)>();
        var withinReach = new List<(double, double, string)>(); // FT vs TAO on the items some base sample got right
        var beyondReach = new List<(double, double, string)>();
        double[]? ftRates = null;
        var baseTokens = new List<double>();
        var taoTokens = new List<double>();
        foreach (var seed in options.Seeds)
        {
            var split = family.Generate(recipe.Seed, recipe.BaseCount(family), tune, heldOut, seed);
            result.TuningInputs = split.Tuning.Count;
            result.HeldOutPerSeed = split.HeldOut.Count;
            var seedResult = new SeedResult { Seed = seed };
            var before = await TaskEvaluator.EvaluateAsync(baseModel, tokenizer, family, split.HeldOut, cancellationToken);
            seedResult.Base = before.Accuracy;
            baseTokens.Add(before.TokensPerAnswer);
            var (passAtN, pickAtN, reach) = await SelectionQualityAsync(baseModel, tokenizer, family, split.HeldOut, seed, cancellationToken);
            (seedResult.PassAtN, seedResult.PickAtN) = (passAtN, pickAtN);
            Say($"{family.Name} seed {seed}: base {before.Accuracy:P1} on {split.HeldOut.Count} held-out inputs; with {options.Candidates} samples a right answer is among them {seedResult.PassAtN:P1}, the label-free pick is right {seedResult.PickAtN:P1}");

            var roundOptions = RoundOptions(family, seed, options.Candidates, options.Round.Objective);
            var dev = DevSlice.Choose(split.Tuning.Select(e => e.Prompt.Id), roundOptions.Seed, roundOptions.DevFraction, roundOptions.MinDevPrompts, roundOptions.MaxDevPrompts);

            var watch = Stopwatch.StartNew();
            using var ft = ModelCopies.Frozen(baseModel);
            var tuned = await new FineTuneBaseline(baseModel, tokenizer, family).TrainAsync(ft, split.Tuning, dev, ftRates ?? options.FtRates,
                options.FtMaxEpochs, options.FtBatchSize, seed, cancellationToken);
            ftRates ??= tuned.LearningRate > 0 ? [tuned.LearningRate] : null; // the rate is chosen on the first seed's dev slice
            var afterFt = await TaskEvaluator.EvaluateAsync(ft, tokenizer, family, split.HeldOut, cancellationToken);
            (seedResult.Ft, seedResult.FtLearningRate, seedResult.FtEpochs, seedResult.FtSteps, seedResult.FtDev) =
                (afterFt.Accuracy, tuned.LearningRate, tuned.Epochs, tuned.Steps, tuned.DevAccuracy);
            Say($"{family.Name} seed {seed}: labelled fine-tuning {afterFt.Accuracy:P1} (rate {tuned.LearningRate:0.####}, {tuned.Epochs} epochs, dev {tuned.DevAccuracy:P1}, {watch.Elapsed.TotalSeconds:0} s)");

            watch.Restart();
            var (afterTao, round) = await TaoAsync(family, baseModel, tokenizer, split, roundOptions, cancellationToken);
            seedResult.Tao = afterTao.Accuracy;
            seedResult.TaoSeconds = watch.Elapsed.TotalSeconds;
            seedResult.TaoSteps = round.Metrics.Count(m => m.Event == "step");
            seedResult.TaoBestIteration = round.BestIteration;
            seedResult.TaoIterations = round.Iterations;
            seedResult.TaoPolishEpoch = round.PolishEpoch;
            seedResult.TaoPolishPass = round.PolishPass;
            seedResult.TaoPolishPasses = round.PolishPasses;
            seedResult.TaoPolishRate = round.PolishRate;
            seedResult.TaoCoverage = round.Metrics.LastOrDefault(m => m.Event == "iteration")?.Coverage ?? 0;
            seedResult.TaoStopReason = round.StopReason;
            seedResult.Iterations.AddRange(Iterations(round));
            taoTokens.Add(afterTao.TokensPerAnswer);
            _taoTokensPerSecond.Add(round.TrainingTokensPerSecond);
            Say($"{family.Name} seed {seed}: TAO {afterTao.Accuracy:P1} ({round.Iterations} iterations, targets for {seedResult.TaoCoverage:P0} of the training inputs, " +
                $"{seedResult.TaoSteps} steps, {watch.Elapsed.TotalSeconds:0} s: sampling {round.SamplingTime.TotalSeconds:0}, training {round.TrainingTime.TotalSeconds:0}, " +
                $"dev {round.DevTime.TotalSeconds:0}; {round.StopReason})");

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
                }, s_json));
            }

            result.Seeds.Add(seedResult);
            if (seed == options.Seeds[0])
            {
                await CompareObjectivesAsync(family, baseModel, tokenizer, split, seed, before, result, cancellationToken);
                if (options.Curves)
                {
                    await BudgetCurveAsync(family, baseModel, tokenizer, split, seed, before, result, cancellationToken);
                    await RoundsCurveAsync(family, baseModel, tokenizer, seed, ftRates, result, cancellationToken);
                }
            }
        }

        result.TaoVsBase = PairedComparison.Compute(baseVsTao);
        result.TaoVsFt = PairedComparison.Compute(ftVsTao);
        result.FtVsBase = PairedComparison.Compute(baseVsFt);
        result.ReachShare = (double)withinReach.Count / Math.Max(1, withinReach.Count + beyondReach.Count);
        result.TaoVsFtWithinReach = withinReach.Count > 0 ? PairedComparison.Compute(withinReach) : null;
        result.TaoVsFtBeyondReach = beyondReach.Count > 0 ? PairedComparison.Compute(beyondReach) : null;
        (result.Base, result.Tao, result.Ft) = (result.TaoVsBase.MeanA, result.TaoVsBase.MeanB, result.TaoVsFt.MeanA);
        result.BaseTokensPerAnswer = baseTokens.Average();
        result.TaoTokensPerAnswer = taoTokens.Average();
        Say($"{family.Name}: TAO − base {result.TaoVsBase.Gain * 100:+0.0;-0.0} points [{result.TaoVsBase.Low * 100:+0.0;-0.0}, {result.TaoVsBase.High * 100:+0.0;-0.0}], " +
            $"TAO − FT {result.TaoVsFt.Gain * 100:+0.0;-0.0} [{result.TaoVsFt.Low * 100:+0.0;-0.0}, {result.TaoVsFt.High * 100:+0.0;-0.0}]");
        return result;
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
        };
        var outcome = await round.RunAsync(inputs.Select(e => e.Prompt).ToList(), heldOut: null, cancellationToken);
        // The round's trace without its optimiser steps (iterations, dev scores, polish epochs, the final choice), for diagnosis.
        await File.AppendAllLinesAsync(Path.Combine(folder, "rounds.jsonl"), outcome.Metrics.Where(m => m.Event != "step")
            .Select(m => JsonSerializer.Serialize(new { family = family.Name, seed = roundOptions.Seed, candidates = roundOptions.Candidates,
                objective = roundOptions.Objective.ToString(), metrics = m }, s_json)), cancellationToken);
        var evaluation = await TaskEvaluator.EvaluateAsync(policy, tokenizer, family, split.HeldOut, cancellationToken);
        if (continueFrom is not null)
        {
            ModelCopies.Restore(continueFrom, ModelCopies.Snapshot(policy));
        }

        return (evaluation, outcome);
    }

    private async Task CompareObjectivesAsync(ITaskFamily family, LlamaForCausalLM baseModel, TextTokenizer tokenizer, TaskSplit split, int seed,
        TaskEvaluator.Result before, FamilyResult result, CancellationToken cancellationToken)
    {
        foreach (var objective in options.CompareObjectives)
        {
            var watch = Stopwatch.StartNew();
            var (after, _) = await TaoAsync(family, baseModel, tokenizer, split, RoundOptions(family, seed, options.Candidates, objective), cancellationToken);
            var comparison = PairedComparison.Compute(before.Right.Select((r, i) => (r ? 1.0 : 0, after.Right[i] ? 1.0 : 0, "all")).ToList());
            result.Objectives.Add(new ObjectiveResult { Objective = objective.ToString(), Accuracy = after.Accuracy, VsBase = comparison, Seconds = watch.Elapsed.TotalSeconds });
            Say($"{family.Name}: {objective} at {options.Candidates} candidates {after.Accuracy:P1} ({watch.Elapsed.TotalSeconds:0} s)");
        }
    }

    /// <summary>Our Figure 3: held-out accuracy against candidates per input (the tuning compute), first seed.</summary>
    private async Task BudgetCurveAsync(ITaskFamily family, LlamaForCausalLM baseModel, TextTokenizer tokenizer, TaskSplit split, int seed,
        TaskEvaluator.Result before, FamilyResult result, CancellationToken cancellationToken)
    {
        result.Budgets.Add(Point(0, before.Right));
        foreach (var budget in options.Budgets)
        {
            var (after, _) = await TaoAsync(family, baseModel, tokenizer, split, RoundOptions(family, seed, budget, options.Round.Objective), cancellationToken);
            result.Budgets.Add(Point(budget, after.Right));
            Say($"{family.Name}: {budget} candidates per input → {after.Accuracy:P1}");
        }
    }

    /// <summary>
    /// "Gets better the more it is used": consecutive rounds, each on fresh inputs, each continuing from the last round's
    /// model, all evaluated on the same held-out inputs; labelled fine-tuning on all the rounds' inputs as the reference.
    /// </summary>
    private async Task RoundsCurveAsync(ITaskFamily family, LlamaForCausalLM baseModel, TextTokenizer tokenizer, int seed, double[]? ftRates,
        FamilyResult result, CancellationToken cancellationToken)
    {
        var perRound = options.RoundInputs.TryGetValue(family.Name, out var count) ? count : 100;
        var split = family.Generate(options.Base.Seed, options.Base.BaseCount(family), perRound * options.Rounds, options.SizeOf(family).HeldOut, seed + 1000);
        var byUnit = family.Name == "docqa" ? 5 : 1; // document questions come five per document
        using var live = ModelCopies.Frozen(baseModel);
        var start = await TaskEvaluator.EvaluateAsync(live, tokenizer, family, split.HeldOut, cancellationToken);
        result.Rounds.Add(Point(0, start.Right));
        for (var round = 1; round <= options.Rounds; round++)
        {
            var inputs = split.Tuning.Skip((round - 1) * perRound * byUnit).Take(perRound * byUnit).ToList();
            var roundOptions = RoundOptions(family, seed + round, options.Candidates, options.Round.Objective) with { Iterations = options.RoundIterations };
            var (after, _) = await TaoAsync(family, baseModel, tokenizer, split, roundOptions, cancellationToken, continueFrom: live, tuning: inputs);
            result.Rounds.Add(Point(round, after.Right));
            Say($"{family.Name}: round {round} on {inputs.Count} fresh inputs → {after.Accuracy:P1}");
        }

        using var ft = ModelCopies.Frozen(baseModel);
        var dev = DevSlice.Choose(split.Tuning.Select(e => e.Prompt.Id), (ulong)seed, options.Round.DevFraction, options.Round.MinDevPrompts, options.Round.MaxDevPrompts);
        await new FineTuneBaseline(baseModel, tokenizer, family).TrainAsync(ft, split.Tuning, dev, ftRates ?? options.FtRates, options.FtMaxEpochs,
            options.FtBatchSize, seed, cancellationToken);
        var afterFt = await TaskEvaluator.EvaluateAsync(ft, tokenizer, family, split.HeldOut, cancellationToken);
        result.RoundsFt = Point(options.Rounds, afterFt.Right);
        Say($"{family.Name}: labelled fine-tuning on all {split.Tuning.Count} round inputs → {afterFt.Accuracy:P1}");
    }

    private static CurvePoint Point(int x, IReadOnlyList<bool> right)
    {
        var interval = PairedComparison.Compute(right.Select(r => (0.0, r ? 1.0 : 0.0, "all")).ToList());
        return new CurvePoint(x, interval.MeanB, interval.Low, interval.High);
    }

    private TaoRoundOptions RoundOptions(ITaskFamily family, int seed, int candidates, TaoObjective objective) => options.Round with
    {
        Objective = objective,
        Candidates = candidates,
        Seed = (ulong)seed,
        LearningRate = objective == TaoObjective.BestOfN ? options.Round.LearningRate : options.Round.LearningRate * 0.3,
        Generation = options.Round.Generation with { MaxNewTokens = family.MaxAnswerTokens },
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
