using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;
using static TorchSharp.torch;

namespace Tao.Trainer.Scoring;

/// <summary>A trained reward model as a scorer: sigmoid of its scalar reward for prompt + candidate.</summary>
internal sealed class RewardModelScorer(LlamaRewardModel model, TextTokenizer tokenizer) : IScorer
{
    public string Name => "reward_model";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        var prompt = tokenizer.EncodePrompt([new ChatMessage("user", group.Prompt)]);
        var items = group.Candidates.Select(c => (prompt, tokenizer.Encode(" " + c.Trim()))).ToList();
        var (ids, attention, _) = SequenceBatch.Build(items, tokenizer.PadId, CPU);
        var rewards = model.forward(new CausalLMInput(ids, attention)).sigmoid().data<float>().ToArray();
        return Task.FromResult(rewards.Select(r => (double)r).ToArray());
    }
}
