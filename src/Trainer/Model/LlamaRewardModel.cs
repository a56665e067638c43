using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>
/// A reward model on the same architecture: the decoder stack plus a scalar head ("score", as Hugging Face's
/// LlamaForSequenceClassification names it) read at each sequence's last token. Saved and loaded by
/// <c>Checkpoints.RewardModelCheckpoint</c>, as the causal LM is by <c>ModelCheckpoint</c>: the model knows no file format.
/// </summary>
internal sealed class LlamaRewardModel : nn.Module<CausalLMInput, Tensor>
{
#pragma warning disable IDE1006 // names match Hugging Face checkpoint keys
    public LlamaModel model;
    public TorchSharp.Modules.Linear score;
#pragma warning restore IDE1006

    public LlamaRewardModel(LlamaConfig config, Device? device = null) : base(nameof(LlamaRewardModel))
    {
        model = new LlamaModel(config, device ?? CPU);
        score = nn.Linear(config.HiddenSize, 1, hasBias: false);
        RegisterComponents();
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                nn.init.ones_(parameter);
            }
            else
            {
                nn.init.normal_(parameter, 0, 0.02);
            }
        }
    }

    public LlamaConfig Config => model.Config;

    /// <summary>One reward per sequence [b], read at the last token the attention mask marks (right padding).</summary>
    public override Tensor forward(CausalLMInput input)
    {
        using var scope = NewDisposeScope();
        var hidden = model.forward(input);
        var last = (input.AttentionMask ?? ones_like(input.InputIds)).sum(1).sub(Scalars.One);
        var picked = hidden.gather(1, last.view(-1, 1, 1).expand(-1, 1, hidden.shape[2])).squeeze(1);
        return score.forward(picked).squeeze(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Starts the decoder from a causal LM's weights (the usual way to initialise a reward model).</summary>
    public void InitialiseFrom(LlamaForCausalLM policy)
    {
        using var noGrad = no_grad();
        var source = policy.model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, parameter) in model.named_parameters())
        {
            parameter.copy_(source[name]);
        }
    }
}
