using System.Text.Json;
using Tao.Bench;
using Tao.Trainer.Generation;
using Tao.Trainer.Lora;
using Tao.Trainer.Model;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Trainer.Tests;

public sealed class TaoRoundTests
{
    private static List<TaskPrompt> Prompts(int count) =>
        Enumerable.Range(0, count).Select(i => new TaskPrompt($"p{i}", [new ChatMessage("user", $"how many orders in region {i % 5}?")])).ToList();

    private static TaoRoundOptions Options(TaoObjective objective, int iterations = 2) => new()
    {
        Objective = objective,
        Candidates = 4,
        Iterations = iterations,
        BatchSize = 8,
        LearningRate = 1e-3,
        MinBestScore = 0,
        Generation = new GenerationOptions { MaxNewTokens = 6, Temperature = 1.0 },
    };

    [Theory]
    [InlineData(TaoObjective.Grpo)]
    [InlineData(TaoObjective.DrGrpo)]
    [InlineData(TaoObjective.Dpo)]
    [InlineData(TaoObjective.BestOfN)]
    public async Task Round_GeneratesScoresAndTrains_WithEveryObjective(TaoObjective objective)
    {
        using var model = TinyModels.Create(seed: 5);
        var before = ModelCopies.Snapshot(model);
        var folder = TinyModels.Folder("round");
        var round = new TaoRound(model, TinyModels.Tokenizer(), new RandomScorer(), Options(objective), folder: folder);

        var result = await round.RunAsync(Prompts(6), heldOut: null, default);

        var iterations = result.Metrics.Where(m => m.Event == "iteration").ToList();
        Assert.Equal(2, iterations.Count);
        Assert.All(iterations, m => Assert.Equal(6, m.Groups));
        Assert.Contains(result.Metrics, m => m.Event == "step" && m.Loss is not null);
        Assert.True(File.ReadAllLines(Path.Combine(folder, "metrics.jsonl")).Length >= 4);
        Assert.True(File.Exists(Path.Combine(folder, "best", "model.safetensors")));
        Assert.Contains(model.named_parameters(), p => !p.parameter.allclose(before[p.name]));
        ModelCopies.Dispose(before);
    }

    [Fact]
    public async Task GroupsWithEqualScores_AreSkipped_AndTeachNothing()
    {
        using var model = TinyModels.Create(seed: 5);
        var before = ModelCopies.Snapshot(model);
        var round = new TaoRound(model, TinyModels.Tokenizer(), new ConstantScorer(), Options(TaoObjective.Grpo));

        var result = await round.RunAsync(Prompts(4), heldOut: null, default);

        Assert.All(result.Metrics.Where(m => m.Event == "iteration"), m => Assert.Equal(4, m.SkippedGroups));
        Assert.DoesNotContain(result.Metrics, m => m.Event == "step");
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.allclose(before[p.name])));
        ModelCopies.Dispose(before);
    }

    [Fact]
    public async Task Guard_StopsWhenRewardRisesWhileHeldOutFalls_AndKeepsTheBestIteration()
    {
        using var model = TinyModels.Create(seed: 5);
        var heldOut = new Queue<double>([0.50, 0.60, 0.55, 0.40, 0.30, 0.20]);
        Dictionary<string, TorchSharp.torch.Tensor>? atBest = null;
        var round = new TaoRound(model, TinyModels.Tokenizer(), new RisingScorer(), Options(TaoObjective.BestOfN, iterations: 6) with { GuardPatience = 2 })
        {
            AfterIteration = (iteration, policy, _) =>
            {
                if (iteration == 1)
                {
                    atBest = ModelCopies.Snapshot(policy);
                }

                return Task.CompletedTask;
            },
        };

        var result = await round.RunAsync(Prompts(4), (_, _) => Task.FromResult(heldOut.Dequeue()), default);

        Assert.True(result.StoppedByGuard);
        Assert.Equal(1, result.BestIteration);
        Assert.Equal(0.60, result.BestHeldOut);
        // 0.55 and 0.40 are both more than the tolerance below the best 0.60 while the reward rose: stop after iteration 3.
        Assert.Equal(3, result.Metrics.Count(m => m.Event == "iteration"));
        Assert.All(model.named_parameters(), p => Assert.True(p.parameter.allclose(atBest![p.name]), $"{p.name} was not restored to iteration 1"));
        ModelCopies.Dispose(atBest);
    }

    [Fact]
    public async Task InterruptedRound_ResumesAfterItsLastCompletedIteration()
    {
        var folder = TinyModels.Folder("resume");
        using (var first = TinyModels.Create(seed: 5))
        {
            await new TaoRound(first, TinyModels.Tokenizer(), new RandomScorer(), Options(TaoObjective.BestOfN, iterations: 2), folder: folder)
                .RunAsync(Prompts(4), null, default);
        }

        using var second = TinyModels.Create(seed: 5);
        var resumed = await new TaoRound(second, TinyModels.Tokenizer(), new RandomScorer(), Options(TaoObjective.BestOfN, iterations: 3), folder: folder)
            .RunAsync(Prompts(4), null, default);

        Assert.Contains(resumed.Metrics, m => m.Event == "resume" && m.Iteration == 2);
        Assert.Equal([3], resumed.Metrics.Where(m => m.Event == "iteration").Select(m => m.Iteration));
        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "state.json"))).RootElement;
        Assert.Equal(3, state.GetProperty("completed_iterations").GetInt32());
    }

    [Fact]
    public async Task LoraRound_TrainsOnlyAdapters_AndExportsThemInPeftFormat()
    {
        using var model = TinyModels.Create(seed: 5);
        var folder = TinyModels.Folder("lora-round");
        var round = new TaoRound(model, TinyModels.Tokenizer(), new RandomScorer(),
            Options(TaoObjective.Grpo) with { Lora = new LoraOptions { Rank = 2 }, KlBeta = 0.1 }, folder: folder);

        var result = await round.RunAsync(Prompts(4), null, default);

        Assert.NotNull(round.Adapters);
        Assert.True(File.Exists(Path.Combine(folder, "best", "adapter_config.json")));
        Assert.Contains(result.Metrics, m => m.Kl is not null);
    }

    [Fact]
    public async Task OpenAiCandidates_UseNWhenTheServerHonoursIt_AndRepeatCallsWhenNot()
    {
        await using var upstream = await FakeUpstream.StartAsync(record: true);
        var source = new OpenAiCandidateSource(new Uri(upstream.Address, "/v1"), "m", "key");

        var candidates = await source.GenerateAsync(Prompts(2), 4, new GenerationOptions { MaxNewTokens = 8 }, default);

        Assert.All(candidates, c => Assert.Equal(4, c.Count));
        Assert.Equal("echo: how many orders in region 0? #2", candidates[0][2].Text);
        Assert.Equal(2, upstream.Received.Count); // one call per prompt, n = 4
        Assert.Contains("\"n\":4", upstream.Received.First().BodyText);
    }

    private sealed class RandomScorer : IScorer
    {
        private readonly Random _random = new(3);
        public string Name => "random";
        public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken) =>
            Task.FromResult(group.Candidates.Select(_ => _random.NextDouble()).ToArray());
    }

    private sealed class ConstantScorer : IScorer
    {
        public string Name => "constant";
        public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken) =>
            Task.FromResult(group.Candidates.Select(_ => 0.5).ToArray());
    }

    /// <summary>Rewards rise every time it is asked, whatever the answers: the shape of a hacked reward.</summary>
    private sealed class RisingScorer : IScorer
    {
        private int _calls;
        public string Name => "rising";
        public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
        {
            var level = Math.Min(0.9, 0.1 + 0.02 * _calls++);
            return Task.FromResult(group.Candidates.Select((_, i) => i == 0 ? level + 0.1 : level).ToArray());
        }
    }
}
