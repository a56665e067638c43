using Tao.Trainer.Checkpoints;
using Tao.Trainer.Model;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;
using static TorchSharp.torch;

namespace Tao.Trainer.Training;

/// <summary>
/// A reward model trained on what users said about live answers. Rated answers become Bradley-Terry pairs: an answer
/// rated higher against one rated lower for the same prompt, and — since most prompts carry one rating — against answers
/// rated lower for other prompts of the same task (the model's reward is absolute, so a good answer to one question should
/// outscore a bad answer to another). The decoder starts from the policy's weights. A share of the prompts, with every
/// pair they are in, is held aside; the model is worth using only if it orders those pairs better than chance beyond
/// their noise (<see cref="BeatsChance"/>), and the caller decides.
/// </summary>
public sealed class FeedbackRewardModel : IDisposable
{
    private readonly LlamaRewardModel _model;
    private readonly TextTokenizer _tokenizer;

    private FeedbackRewardModel(LlamaRewardModel model, TextTokenizer tokenizer, int trainPairs, int heldPairs, double heldAccuracy)
    {
        (_model, _tokenizer) = (model, tokenizer);
        (TrainPairs, HeldPairs, HeldAccuracy) = (trainPairs, heldPairs, heldAccuracy);
    }

    /// <summary>One rated answer: the prompt as the scorers see it (<c>TaskPrompt.Text</c>), the answer, its value (higher is better).</summary>
    public sealed record Rating(string Prompt, string Answer, double Value);

    public int TrainPairs { get; }

    public int HeldPairs { get; }

    /// <summary>Share of the held-aside pairs the model orders right; NaN when too few prompts were rated to hold any aside.</summary>
    public double HeldAccuracy { get; }

    /// <summary>
    /// The lower end of the Wilson 95 % interval of <see cref="HeldAccuracy"/> over the held-aside pairs (NaN without any):
    /// the model beats chance only when it is above one half, not when a handful of pairs happen to go its way.
    /// </summary>
    public double HeldLowerBound => HeldPairs == 0 ? double.NaN : WilsonLow(HeldAccuracy, HeldPairs);

    /// <summary>Whether it orders the held-aside pairs better than chance, beyond the noise of their number.</summary>
    public bool BeatsChance => HeldLowerBound > 0.5;

    internal static double WilsonLow(double p, int n, double z = 1.96)
    {
        var z2 = z * z;
        return (p + z2 / (2 * n) - z * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n))) / (1 + z2 / n);
    }

    /// <summary>The model as a scorer: the sigmoid of its reward for prompt + answer.</summary>
    public IScorer Scorer => new RewardModelScorer(_model, _tokenizer);

    /// <summary>The configured scorer with the reward model blended in at <paramref name="weight"/> (a weighted average).</summary>
    public IScorer Blend(IScorer configured, double weight) =>
        new CompositeScorer([new CompositeScorer.Part(configured, 1 - weight), new CompositeScorer.Part(Scorer, weight)]);

    /// <summary>
    /// Saves the model as a Hugging Face checkpoint folder, with the tokenizer files of <paramref name="tokenizerFolder"/>
    /// when given, so that the reward_model scorer type loads it on its own.
    /// </summary>
    public void Save(string folder, string? tokenizerFolder = null)
    {
        RewardModelCheckpoint.Save(_model, folder);
        foreach (var name in new[] { "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json" })
        {
            if (tokenizerFolder is not null && File.Exists(Path.Combine(tokenizerFolder, name)))
            {
                File.Copy(Path.Combine(tokenizerFolder, name), Path.Combine(folder, name), overwrite: true);
            }
        }
    }

    public void Dispose() => _model.Dispose();

    /// <summary>Pairs for training and held aside (by prompt), at most <paramref name="crossPerAnswer"/> cross-prompt pairs per rated answer.</summary>
    internal static (List<RewardModelTrainer.Pair> Train, List<RewardModelTrainer.Pair> Held) Pairs(IReadOnlyList<Rating> ratings, int seed,
        double heldShare = 0.2, int crossPerAnswer = 2)
    {
        var random = new Random(seed);
        var distinct = ratings.Where(r => r.Answer.Trim().Length > 0)
            .GroupBy(r => (r.Prompt, Answer: r.Answer.Trim()))
            .Select(g => new Rating(g.Key.Prompt, g.Key.Answer, g.Last().Value)) // the latest rating of an answer counts
            .ToList();
        var prompts = distinct.Select(r => r.Prompt).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var heldCount = prompts.Count < 5 ? 0 : (int)Math.Round(prompts.Count * heldShare);
        var held = prompts.OrderBy(_ => random.Next()).Take(heldCount).ToHashSet(StringComparer.Ordinal);
        return (Build(distinct.Where(r => !held.Contains(r.Prompt)).ToList(), random, crossPerAnswer),
            Build(distinct.Where(r => held.Contains(r.Prompt)).ToList(), random, crossPerAnswer));
    }

    private static List<RewardModelTrainer.Pair> Build(List<Rating> ratings, Random random, int crossPerAnswer)
    {
        var pairs = new List<RewardModelTrainer.Pair>();
        foreach (var prompt in ratings.GroupBy(r => r.Prompt, StringComparer.Ordinal))
        {
            pairs.AddRange(from better in prompt from worse in prompt where better.Value > worse.Value
                select new RewardModelTrainer.Pair(prompt.Key, better.Answer, worse.Answer, worse.Prompt));
        }

        foreach (var better in ratings)
        {
            var worse = ratings.Where(r => r.Value < better.Value && !string.Equals(r.Prompt, better.Prompt, StringComparison.Ordinal)).ToList();
            foreach (var other in worse.OrderBy(_ => random.Next()).Take(crossPerAnswer))
            {
                pairs.Add(new RewardModelTrainer.Pair(better.Prompt, better.Answer, other.Answer, other.Prompt));
            }
        }

        return pairs;
    }

    /// <summary>Optimiser steps a reward model gets at least (by default): its scalar head starts from random weights.</summary>
    public const int MinSteps = 120;

    /// <summary>
    /// Trains a reward model from the policy's weights on the ratings' pairs; null when they make fewer than
    /// <paramref name="minPairs"/> training pairs. Without <paramref name="epochs"/>, as many epochs (4 to 40) as give
    /// <see cref="MinSteps"/> steps of 16 pairs: at a few dozen pairs, 4 epochs were a dozen steps, and the demo's model
    /// ordered 13 % of its held-aside pairs right.
    /// </summary>
    public static FeedbackRewardModel? Train(LlamaForCausalLM policy, TextTokenizer tokenizer, IReadOnlyList<Rating> ratings, int minPairs, int seed,
        int? epochs = null, double learningRate = 1e-3)
    {
        var (train, held) = Pairs(ratings, seed);
        if (train.Count < Math.Max(1, minPairs))
        {
            return null;
        }

        var stepsPerEpoch = (train.Count + 15) / 16;
        var passes = epochs ?? Math.Clamp((MinSteps + stepsPerEpoch - 1) / stepsPerEpoch, 4, 40);

        manual_seed(seed);
        var model = new LlamaRewardModel(policy.Config);
        model.InitialiseFrom(policy);
        RewardModelTrainer.Train(model, tokenizer, train, passes, learningRate, seed: seed);
        return new FeedbackRewardModel(model, tokenizer, train.Count, held.Count, held.Count == 0 ? double.NaN : Accuracy(model, tokenizer, held));
    }

    /// <summary>Share of the pairs whose chosen answer the model rewards above the rejected one.</summary>
    internal static double Accuracy(LlamaRewardModel model, TextTokenizer tokenizer, IReadOnlyList<RewardModelTrainer.Pair> pairs)
    {
        var right = 0;
        foreach (var chunk in pairs.Chunk(32))
        {
            var rewards = RewardModelTrainer.Rewards(model, tokenizer, chunk);
            right += Enumerable.Range(0, chunk.Length).Count(i => rewards[2 * i] > rewards[2 * i + 1]);
        }

        return pairs.Count == 0 ? double.NaN : (double)right / pairs.Count;
    }
}
