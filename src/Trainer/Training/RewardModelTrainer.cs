using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Training;

/// <summary>Trains a reward model on preference pairs with the Bradley-Terry loss: -log sigmoid(r(chosen) - r(rejected)).</summary>
internal static class RewardModelTrainer
{
    /// <summary>A preference: <paramref name="Chosen"/> over <paramref name="Rejected"/>, the latter answering <paramref name="RejectedPrompt"/> when given (a pair across prompts).</summary>
    public sealed record Pair(string Prompt, string Chosen, string Rejected, string? RejectedPrompt = null);

    /// <summary>Returns the mean loss of each epoch.</summary>
    public static List<double> Train(LlamaRewardModel model, TextTokenizer tokenizer, IReadOnlyList<Pair> pairs, int epochs = 3, double learningRate = 1e-4, int batchSize = 16, int seed = 0)
    {
        using var optimizer = new AdamW(model.parameters(), learningRate, weightDecay: 0.01); // TorchSharp's AdamW default decay
        var random = new Random(seed);
        var losses = new List<double>();
        model.train();
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var order = pairs.OrderBy(_ => random.Next()).ToList();
            double total = 0;
            var batches = 0;
            for (var start = 0; start < order.Count; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var batch = order.Skip(start).Take(batchSize).ToList();
                var rewards = Forward(model, tokenizer, batch).view(-1, 2);
                var loss = -nn.functional.logsigmoid(rewards[.., 0] - rewards[.., 1]).mean();
                optimizer.ZeroGrad();
                loss.backward();
                optimizer.Step();
                total += loss.item<float>();
                batches++;
            }

            losses.Add(total / Math.Max(1, batches));
        }

        return losses;
    }

    /// <summary>The rewards of each pair's chosen and rejected answers, in that order, pair after pair (no gradients).</summary>
    public static float[] Rewards(LlamaRewardModel model, TextTokenizer tokenizer, IReadOnlyList<Pair> pairs)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        return Forward(model, tokenizer, pairs).data<float>().ToArray();
    }

    private static Tensor Forward(LlamaRewardModel model, TextTokenizer tokenizer, IReadOnlyList<Pair> pairs)
    {
        // The same encoding the reward-model scorer reads: the prompt text as one user turn, then the answer.
        var items = pairs.SelectMany(p => new[]
        {
            (tokenizer.EncodePrompt([new ChatMessage("user", p.Prompt)]), tokenizer.Encode(" " + p.Chosen.Trim())),
            (tokenizer.EncodePrompt([new ChatMessage("user", p.RejectedPrompt ?? p.Prompt)]), tokenizer.Encode(" " + p.Rejected.Trim())),
        }).ToList();
        var (ids, attention, _) = SequenceBatch.Build(items, tokenizer.PadId, CPU);
        return model.forward(new CausalLMInput(ids, attention));
    }
}
