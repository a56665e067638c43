using Tao.Trainer.Checkpoints;
using Tao.Trainer.Model;
using Tao.Trainer.Scoring;
using Tao.Trainer.Training;

namespace Tao.Trainer.Tests.Scoring;

public sealed class RewardModelTests
{
    [Fact]
    public async Task RewardModel_LearnsPreferences_AndScoresAsAScorer_AfterASaveLoadRoundTrip()
    {
        var tokenizer = TinyModels.Tokenizer();
        TorchSharp.torch.manual_seed(4);
        using var reward = new LlamaRewardModel(TinyModels.Config(tokenizer.VocabularySize));
        var pairs = Enumerable.Range(0, 24).Select(i => new RewardModelTrainer.Pair(
            $"how many orders in region {i % 6}?", $"SELECT count() FROM orders WHERE region = {i % 6}", "no idea")).ToList();

        var losses = RewardModelTrainer.Train(reward, tokenizer, pairs, epochs: 8, learningRate: 3e-3, batchSize: 8);
        var folder = TinyModels.Folder("reward");
        RewardModelCheckpoint.Save(reward, folder);
        using var loaded = RewardModelCheckpoint.Load(folder);
        var scores = await new RewardModelScorer(loaded, tokenizer).ScoreAsync(
            new ScoringGroup("how many orders in region 2?", ["SELECT count() FROM orders WHERE region = 2", "no idea"]), default);

        Assert.True(losses[^1] < losses[0], $"loss did not fall: {string.Join(", ", losses)}");
        Assert.True(scores[0] > scores[1], $"chosen {scores[0]} should outscore rejected {scores[1]}");
    }
}
