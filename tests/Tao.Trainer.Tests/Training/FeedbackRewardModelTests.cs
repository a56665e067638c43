using Tao.Trainer.Scoring;
using Tao.Trainer.Training;

namespace Tao.Trainer.Tests.Training;

public sealed class FeedbackRewardModelTests
{
    private static List<FeedbackRewardModel.Rating> Ratings(int prompts)
    {
        // Users liked the queries and disliked the refusals; a few prompts were rated twice (both kinds of answer).
        var ratings = new List<FeedbackRewardModel.Rating>();
        for (var i = 0; i < prompts; i++)
        {
            var prompt = $"how many orders in region {i}?";
            if (i % 2 == 0 || i % 5 == 0)
            {
                ratings.Add(new(prompt, $"SELECT count() FROM orders WHERE region = {i}", 1));
            }

            if (i % 2 == 1 || i % 5 == 0)
            {
                ratings.Add(new(prompt, i % 3 == 0 ? "no idea" : "I cannot say", 0));
            }
        }

        return ratings;
    }

    [Fact]
    public void Pairs_PutTheHigherRatedFirst_WithinAPromptAndAcrossPrompts_AndHoldWholePromptsAside()
    {
        var ratings = Ratings(40);

        var (train, held) = FeedbackRewardModel.Pairs(ratings, seed: 3);

        var value = ratings.ToDictionary(r => (r.Prompt, r.Answer), r => r.Value);
        foreach (var pair in train.Concat(held))
        {
            Assert.True(value[(pair.Prompt, pair.Chosen)] > value[(pair.RejectedPrompt ?? pair.Prompt, pair.Rejected)], pair.ToString());
        }

        // Prompts rated twice give a pair of their own; one-rating prompts pair across (at most 2 per rated answer).
        Assert.Contains(train.Concat(held), p => p.RejectedPrompt == p.Prompt && p.Prompt == "how many orders in region 0?");
        Assert.Contains(train, p => p.RejectedPrompt != p.Prompt);
        Assert.True(train.Count(p => p.Chosen == "SELECT count() FROM orders WHERE region = 2" && p.RejectedPrompt != p.Prompt) <= 2);

        // A held-aside prompt is in no training pair, on either side: held accuracy is measured on prompts never trained on.
        var heldPrompts = held.SelectMany(p => new[] { p.Prompt, p.RejectedPrompt! }).ToHashSet();
        Assert.InRange(heldPrompts.Count, 2, 8); // of the fifth of the 40 prompts held aside
        Assert.DoesNotContain(train, p => heldPrompts.Contains(p.Prompt) || heldPrompts.Contains(p.RejectedPrompt!));
    }

    [Fact]
    public void BeatingChance_NeedsTheWilsonLowerBoundAboveOneHalf_NotJustMostPairs()
    {
        Assert.True(FeedbackRewardModel.WilsonLow(0.6, 5) < 0.5); // 3 of 5 pairs right: could be a coin
        Assert.True(FeedbackRewardModel.WilsonLow(0.8, 40) > 0.5);
        Assert.Equal(0.5, FeedbackRewardModel.WilsonLow(0.5, 1_000_000), 2);
    }

    [Fact]
    public async Task ARewardModelTrainedOnRatings_OrdersHeldAsidePairs_AndScoresAsAPartOfTheTrainingScore()
    {
        var tokenizer = TinyModels.Tokenizer();
        using var policy = TinyModels.Create(seed: 2, vocab: tokenizer.VocabularySize);

        Assert.Null(FeedbackRewardModel.Train(policy, tokenizer, Ratings(4), minPairs: 32, seed: 1)); // too few ratings: no model

        using var trained = FeedbackRewardModel.Train(policy, tokenizer, Ratings(40), minPairs: 16, seed: 1, epochs: 8, learningRate: 3e-3);

        Assert.NotNull(trained);
        Assert.True(trained.HeldPairs > 0);
        Assert.True(trained.HeldAccuracy >= 0.8, $"held-aside pair accuracy {trained.HeldAccuracy:0.00}");
        Assert.True(trained.BeatsChance, $"Wilson lower bound {trained.HeldLowerBound:0.00} over {trained.HeldPairs} pairs");
        var group = new ScoringGroup("how many orders in region 77?", ["SELECT count() FROM orders WHERE region = 77", "no idea"]);
        var alone = await trained.Scorer.ScoreAsync(group, default);
        Assert.True(alone[0] > alone[1], $"{alone[0]} vs {alone[1]}");

        // Blended at 0.25 with a scorer that likes neither answer: a quarter of the reward model's score.
        var blended = await trained.Blend(new RegexScorer("^zzz$", mustMatch: true), 0.25).ScoreAsync(group, default);
        Assert.Equal(0.25 * alone[0], blended[0], 5);
        Assert.Equal(0.25 * alone[1], blended[1], 5);

        var folder = TinyModels.Folder("feedback-reward");
        trained.Save(folder);
        var loaded = ScorerFactory.FromJson($$"""[{"type": "reward_model", "path": "{{folder.Replace("\\", "/", StringComparison.Ordinal)}}"}]""", new(Tokenizer: tokenizer));
        var reloaded = await loaded.ScoreAsync(group, default);
        Assert.Equal(alone[0], reloaded[0], 4);
    }
}
