using Tao.Trainer.Checkpoints;
using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Tests.Model;

public sealed class ModelRuntimeTests
{
    private static Tensor Ids(params long[][] rows) => tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    [Theory]
    [InlineData(false, long.MaxValue)]
    [InlineData(true, long.MaxValue)]
    [InlineData(false, 20_000)]
    public void SaveThenLoad_GivesIdenticalLogits(bool tied, long shardBytes)
    {
        using var model = TinyModels.Create(tied: tied);
        var folder = TinyModels.Folder("roundtrip");
        ModelCheckpoint.Save(model, folder, shardBytes);

        using var loaded = ModelCheckpoint.Load(folder);
        using var scope = NewDisposeScope();
        var ids = Ids([5, 9, 12, 40, 7], [1, 2, 3, 4, 5]);
        var expected = model.forward(new CausalLMInput(ids));
        var actual = loaded.forward(new CausalLMInput(ids));

        Assert.True(expected.allclose(actual, rtol: 0, atol: 0), "logits differ after a save/load round trip");
        Assert.Equal(shardBytes < long.MaxValue, File.Exists(Path.Combine(folder, ModelCheckpoint.IndexFile)));
        Assert.Equal(!tied, SafeTensors.ReadHeader(ModelCheckpoint.WeightFiles(folder)[^1]).ContainsKey("lm_head.weight")
            || ModelCheckpoint.WeightFiles(folder).Any(f => SafeTensors.ReadHeader(f).ContainsKey("lm_head.weight")));
    }

    [Fact]
    public void Load_IsStrict_AboutMissingExtraAndMisshapenWeights()
    {
        using var model = TinyModels.Create();
        var folder = TinyModels.Folder("strict");
        ModelCheckpoint.Save(model, folder);
        var weights = SafeTensors.Load(Path.Combine(folder, ModelCheckpoint.SingleFile));

        void Rewrite(Func<Dictionary<string, Tensor>, IEnumerable<(string, Tensor)>> change) =>
            SafeTensors.Save(Path.Combine(folder, ModelCheckpoint.SingleFile), change(weights).ToList());

        Rewrite(w => w.Where(p => p.Key != "model.layers.1.mlp.up_proj.weight").Select(p => (p.Key, p.Value)));
        Assert.Contains("missing [model.layers.1.mlp.up_proj.weight]", Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Load(folder)).Message);

        Rewrite(w => w.Select(p => (p.Key, p.Value)).Append(("model.layers.9.extra.weight", zeros(2))));
        Assert.Contains("unexpected [model.layers.9.extra.weight]", Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Load(folder)).Message);

        Rewrite(w => w.Select(p => (p.Key, p.Key == "model.norm.weight" ? zeros(7) : p.Value)));
        Assert.Contains("model.norm.weight", Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Load(folder)).Message);
    }

    [Fact]
    public void Load_ReadsBfloat16Checkpoints()
    {
        using var model = TinyModels.Create();
        var folder = TinyModels.Folder("bf16");
        model.Config.Save(Path.Combine(folder, "config.json"));
        SafeTensors.Save(Path.Combine(folder, ModelCheckpoint.SingleFile),
            model.SavedParameters().Select(p => (p.Name, p.Parameter.to_type(ScalarType.BFloat16))).ToList());

        using var loaded = ModelCheckpoint.Load(folder);

        var original = model.model.norm.parameters().First();
        Assert.True(original.allclose(loaded.model.norm.parameters().First(), atol: 1e-2));
    }

    [Fact]
    public void CachedGeneration_EqualsFullRecomputation()
    {
        using var model = TinyModels.Create(seed: 7);
        var tokenizer = TinyModels.Tokenizer();
        var generator = new TextGenerator(model, tokenizer);
        int[][] prompts = [[5, 9, 12], [40, 7, 3, 8, 11, 14], [20]];
        foreach (var temperature in new[] { 0.0, 1.0 })
        {
            var options = new GenerationOptions { MaxNewTokens = 12, Temperature = temperature, SamplesPerPrompt = 2, Seed = 42 };

            var cached = generator.Generate(prompts, options);
            var full = generator.Generate(prompts, options with { UseCache = false });

            Assert.Equal(cached.Select(s => s.Tokens), full.Select(s => s.Tokens));
            for (var i = 0; i < cached.Count; i++)
            {
                Assert.Equal(cached[i].Logprobs, full[i].Logprobs, (a, b) => Math.Abs(a - b) < 1e-4);
            }
        }
    }

    [Fact]
    public void Generation_IsDeterministicUnderASeed()
    {
        using var model = TinyModels.Create(seed: 3);
        var generator = new TextGenerator(model, TinyModels.Tokenizer());
        int[][] prompts = [[5, 9, 12], [40, 7]];
        var options = new GenerationOptions { MaxNewTokens = 10, Temperature = 1.0, TopP = 0.9, SamplesPerPrompt = 4, Seed = 11 };

        var first = generator.Generate(prompts, options).Select(s => s.Tokens).ToList();
        var again = generator.Generate(prompts, options).Select(s => s.Tokens).ToList();
        var other = generator.Generate(prompts, options with { Seed = 12 }).Select(s => s.Tokens).ToList();

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.Equal(8, first.Count);
    }

    [Fact]
    public void Gradients_ReachEveryTrainableParameter()
    {
        using var model = TinyModels.Create();
        using var scope = NewDisposeScope();
        var (ids, attention, target) = SequenceBatch.Build([([1, 5, 9], [12, 40, 2]), ([1, 7], [3, 2])], 0, CPU);

        var (logProbs, mask) = SequenceBatch.TokenLogProbs(model, ids, attention, target);
        Losses.Sft(logProbs, mask).backward();

        var missing = model.named_parameters().Where(p => p.parameter.grad is null || p.parameter.grad.abs().sum().item<float>() == 0).Select(p => p.name).ToList();
        Assert.Empty(missing);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.5f)]
    public void TokenLogProbs_EqualTheFullSoftmax_WhereTheLossWeighs_AndAreZeroElsewhere(float promptWeight)
    {
        using var model = TinyModels.Create();
        using var scope = NewDisposeScope();
        // The third row has no answer: with prompt weight 0 nothing of it is weighed.
        var (ids, attention, target) = SequenceBatch.Build([([1, 5, 9], [12, 40, 2]), ([1, 7], [3, 2]), ([1, 4, 6, 8], [])], 0, CPU, promptWeight);

        var (logProbs, mask) = SequenceBatch.TokenLogProbs(model, ids, attention, target);

        var logits = model.forward(new CausalLMInput(ids, attention))[.., ..^1, ..];
        var full = nn.functional.log_softmax(logits, -1).gather(-1, ids[.., 1..].unsqueeze(-1)).squeeze(-1);
        var expected = where(mask.ne(0), full, zeros_like(full));
        Assert.Equal(expected.shape, logProbs.shape);
        Assert.True((logProbs - expected).abs().max().item<float>() < 1e-5f);
        Assert.Equal(promptWeight > 0, logProbs[2].abs().sum().item<float>() > 0);
    }

    [Fact]
    public void TrainingSteps_DoNotLeakNativeTensors()
    {
        using var model = TinyModels.Create();
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
        var items = new List<(int[], int[])> { ([1, 5, 9], [12, 40, 2]), ([1, 7], [3, 2]) };

        long LiveAfterSteps(int steps)
        {
            for (var i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var (ids, attention, target) = SequenceBatch.Build(items, 0, CPU);
                var (logProbs, mask) = SequenceBatch.TokenLogProbs(model, ids, attention, target);
                Losses.Sft(logProbs, mask).backward();
                optimizer.step();
            }

            GC.Collect();
            GC.WaitForPendingFinalizers();
            return DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }

        var warm = LiveAfterSteps(3);
        var later = LiveAfterSteps(30);

        Assert.True(later <= warm, $"live tensors grew from {warm} to {later} over 30 steps");
    }
}
