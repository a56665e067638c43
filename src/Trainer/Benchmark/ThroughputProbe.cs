using System.Diagnostics;
using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Tasks;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;
using static TorchSharp.torch;

namespace Tao.Trainer.Benchmark;

/// <summary>What the trainer's speed is on this machine: training and generation rates next to a plain matmul's GFLOP/s.</summary>
internal static class ThroughputProbe
{
    public static ThroughputResult Measure(LlamaForCausalLM model, TextTokenizer tokenizer, SupervisedTrainer.Result? pretrain,
        IReadOnlyList<LabelledExample> sample, CancellationToken cancellationToken)
    {
        var parameters = model.SavedParameters().Sum(p => p.Parameter.numel());
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

    /// <summary>fp32 GFLOP/s of a 1024x1024 matmul on this machine, measured now.</summary>
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
}
