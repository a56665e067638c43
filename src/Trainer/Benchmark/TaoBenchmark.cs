using System.Diagnostics;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Tasks;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;
using static TorchSharp.torch;

namespace Tao.Trainer.Benchmark;

/// <summary>
/// Our small-scale version of the TAO paper's Table 3 and Figure 3: per task family, the base model, supervised
/// fine-tuning on the tuning inputs WITH gold answers, and TAO on the same inputs WITHOUT them at several candidate
/// budgets, all evaluated on held-out inputs that no tuning saw.
/// </summary>
public sealed class TaoBenchmark(IReadOnlyList<ITaskFamily> families, TaoBenchmarkOptions options, string folder, Action<string>? log = null)
{
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

        var built = await BaseModelBuilder.EnsureAsync(modelsRoot, recipe, families, log, cancellationToken);
        report.BaseBuildSeconds = built.BuildTime.TotalSeconds;
        report.BaseFromCache = built.FromCache;
        Say(built.FromCache ? $"base model: reused from {built.Folder}" : $"base model: built in {built.BuildTime.TotalSeconds:0} s");
        var tokenizer = TextTokenizer.Load(built.Folder);
        using var baseModel = ModelCheckpoint.Load(built.Folder);
        var splits = families.ToDictionary(f => f.Name, f => f.Generate(recipe.Seed, recipe.BaseCount(f), options.SplitOf(f).Tune, options.SplitOf(f).HeldOut));
        report.Throughput = await MeasureThroughputAsync(baseModel, tokenizer, built.Training, splits.Values.First().HeldOut, cancellationToken);

        foreach (var family in families)
        {
            var split = splits[family.Name];
            var row = new FamilyResult { Family = family.Name, TuningInputs = split.Tuning.Count, HeldOut = split.HeldOut.Count };
            var baseline = await TaskEvaluator.EvaluateAsync(baseModel, tokenizer, family, split.HeldOut, cancellationToken);
            row.Base = baseline.Accuracy;
            row.BaseTokensPerAnswer = baseline.TokensPerAnswer;
            Say($"{family.Name}: base {baseline.Accuracy:P1} on {split.HeldOut.Count} held-out inputs");
            (row.PassAtN, row.LabelFreePick) = await SelectionQualityAsync(baseModel, tokenizer, family, split.HeldOut, options.Budgets.Max(), cancellationToken);
            Say($"{family.Name}: with {options.Budgets.Max()} samples per held-out input, a right answer is among them {row.PassAtN:P1} of the time; the label-free scorer picks it {row.LabelFreePick:P1}");

            using (var sft = ModelCopies.Frozen(baseModel))
            {
                foreach (var parameter in sft.parameters())
                {
                    parameter.requires_grad = true;
                }

                var examples = split.Tuning.Select(e => new SupervisedTrainer.Example(e.Prompt.Messages, e.Gold)).ToList();
                SupervisedTrainer.Train(sft, tokenizer, examples, options.SftEpochs, options.SftLearningRate, batchSize: 16, seed: options.Base.Seed, cancellationToken: cancellationToken);
                row.Sft = (await TaskEvaluator.EvaluateAsync(sft, tokenizer, family, split.HeldOut, cancellationToken)).Accuracy;
                Say($"{family.Name}: labelled fine-tuning {row.Sft:P1}");
            }

            foreach (var budget in options.Budgets)
            {
                using var policy = ModelCopies.Frozen(baseModel);
                foreach (var parameter in policy.parameters())
                {
                    parameter.requires_grad = true;
                }

                var roundFolder = Path.Combine(folder, $"{family.Name}-tao-{budget}");
                var round = new TaoRound(policy, tokenizer, family.Scorer(), RoundOptions(family, budget), folder: null,
                    progress: p => Progress(family.Name, budget, p));
                var watch = Stopwatch.StartNew();
                var result = await round.RunAsync(split.Tuning.Select(e => e.Prompt).ToList(), heldOut: null, cancellationToken);
                row.TaoTrainingTokensPerSecond[budget] = result.TrainingTokensPerSecond;
                var after = await TaskEvaluator.EvaluateAsync(policy, tokenizer, family, split.HeldOut, cancellationToken);
                Directory.CreateDirectory(roundFolder);
                await File.WriteAllLinesAsync(Path.Combine(roundFolder, "metrics.jsonl"),
                    result.Metrics.Select(m => System.Text.Json.JsonSerializer.Serialize(m)), cancellationToken);
                row.Tao[budget] = after.Accuracy;
                row.TaoTokensPerAnswer[budget] = after.TokensPerAnswer;
                row.TaoSeconds[budget] = watch.Elapsed.TotalSeconds;
                Say($"{family.Name}: TAO with {budget} candidates per input {after.Accuracy:P1} ({watch.Elapsed.TotalSeconds:0} s)");
            }

            report.Families.Add(row);
        }

        if (report.Throughput is { } throughput && double.IsNaN(throughput.TrainingTokensPerSecond))
        {
            // The base came from the cache: take the training rate of this run's TAO updates instead.
            var rates = report.Families.SelectMany(f => f.TaoTrainingTokensPerSecond.Values).Where(r => r > 0).ToList();
            throughput.TrainingTokensPerSecond = rates.Count > 0 ? rates.Average() : 0;
            throughput.TrainingGflops = 6.0 * throughput.Parameters * throughput.TrainingTokensPerSecond / 1e9;
        }

        report.ElapsedSeconds = clock.Elapsed.TotalSeconds;
        return report;
    }

    private TaoRoundOptions RoundOptions(ITaskFamily family, int budget) => new()
    {
        Objective = options.Objective,
        Candidates = budget,
        Iterations = options.TaoIterations,
        EpochsPerIteration = options.TaoEpochsPerIteration,
        BatchSize = options.TaoBatchSize,
        LearningRate = options.TaoLearningRate,
        MinBestScore = options.MinBestScore,
        Seed = (ulong)options.Base.Seed,
        Generation = new GenerationOptions { Temperature = options.Temperature, MaxNewTokens = family.MaxAnswerTokens, BatchSize = 256 },
    };

    /// <summary>
    /// How much room tuning has on held-out inputs: how often N samples contain a right answer (pass@N), and how often
    /// the label-free scorer's favourite is right. Measured, not used by any tuning.
    /// </summary>
    private async Task<(double PassAtN, double Pick)> SelectionQualityAsync(LlamaForCausalLM model, TextTokenizer tokenizer, ITaskFamily family,
        IReadOnlyList<LabelledExample> examples, int n, CancellationToken cancellationToken)
    {
        var samples = await new LocalCandidateSource(model, tokenizer).GenerateAsync(examples.Select(e => e.Prompt).ToList(), n,
            RoundOptions(family, n).Generation with { Seed = 99 }, cancellationToken);
        var scorer = family.Scorer();
        int any = 0, picked = 0;
        for (var i = 0; i < examples.Count; i++)
        {
            var texts = samples[i].Select(c => c.Text).ToList();
            var scores = await scorer.ScoreAsync(new Scoring.ScoringGroup(examples[i].Prompt.Text, texts, examples[i].Prompt.Context), cancellationToken);
            var right = new bool[texts.Count];
            for (var j = 0; j < texts.Count; j++)
            {
                right[j] = await family.IsCorrectAsync(examples[i], texts[j], cancellationToken);
            }

            any += right.Any(r => r) ? 1 : 0;
            picked += right[Array.IndexOf(scores, scores.Max())] ? 1 : 0;
        }

        return ((double)any / examples.Count, (double)picked / examples.Count);
    }

    private DateTime _lastProgress = DateTime.MinValue;

    private void Progress(string family, int budget, RoundProgress p)
    {
        if (DateTime.UtcNow - _lastProgress < TimeSpan.FromSeconds(10) && p.Done != p.Total)
        {
            return;
        }

        _lastProgress = DateTime.UtcNow;
        Say($"  {family} TAO ×{budget}: iteration {p.Iteration}/{p.Iterations}, {p.Stage} {p.Done}/{p.Total}");
    }

    private static long Parameters(LlamaForCausalLM model) => model.SavedParameters().Sum(p => p.Parameter.numel());

    private async Task<ThroughputResult> MeasureThroughputAsync(LlamaForCausalLM model, TextTokenizer tokenizer, SupervisedTrainer.Result? pretrain,
        IReadOnlyList<LabelledExample> sample, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var parameters = Parameters(model);
        var matmul = MatmulGflops();
        var prompts = sample.Take(64).Select(e => tokenizer.EncodePrompt(e.Prompt.Messages)).ToList();
        var generator = new TextGenerator(model, tokenizer);
        double TokensPerSecond(bool cache)
        {
            var options = new GenerationOptions { Temperature = 1.0, MaxNewTokens = 32, SamplesPerPrompt = 2, BatchSize = 128, UseCache = cache, Seed = 3 };
            var watch = Stopwatch.StartNew();
            var generated = generator.Generate(prompts, options);
            return generated.Sum(g => g.Tokens.Length) / watch.Elapsed.TotalSeconds;
        }

        var withCache = TokensPerSecond(true);
        var withoutCache = TokensPerSecond(false);
        cancellationToken.ThrowIfCancellationRequested();
        return new ThroughputResult
        {
            Parameters = parameters,
            TrainingTokensPerSecond = pretrain?.TokensPerSecond ?? double.NaN,
            TrainingGflops = pretrain is null ? double.NaN : 6.0 * parameters * pretrain.TokensPerSecond / 1e9,
            MatmulGflops = matmul,
            GenerationTokensPerSecondCached = withCache,
            GenerationTokensPerSecondUncached = withoutCache,
        };
    }

    /// <summary>fp32 GFLOP/s of a 1024x1024 matmul on this machine, measured in this run.</summary>
    public static double MatmulGflops()
    {
        using var scope = NewDisposeScope();
        var a = rand(1024, 1024);
        var b = rand(1024, 1024);
        for (var i = 0; i < 3; i++)
        {
            a.matmul(b).Dispose();
        }

        var watch = Stopwatch.StartNew();
        var runs = 0;
        while (watch.Elapsed < TimeSpan.FromSeconds(1))
        {
            a.matmul(b).Dispose();
            runs++;
        }

        return runs * 2.0 * 1024 * 1024 * 1024 / watch.Elapsed.TotalSeconds / 1e9;
    }

    private void Say(string message) => log?.Invoke(message);
}
