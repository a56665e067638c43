using Tao.Trainer.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>
/// A reward model on the same architecture: the decoder stack plus a scalar head ("score", as Hugging Face's
/// LlamaForSequenceClassification names it) read at each sequence's last token.
/// </summary>
public sealed class LlamaRewardModel : nn.Module<CausalLMInput, Tensor>
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
        var last = (input.AttentionMask ?? ones_like(input.InputIds)).sum(1) - 1;
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

    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        WriteConfig(folder);
        ModelCheckpoint.SaveTensors(folder, named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList(), long.MaxValue);
    }

    private void WriteConfig(string folder)
    {
        var architectures = Config.Architectures;
        Config.Architectures = ["LlamaForSequenceClassification"];
        Config.Save(Path.Combine(folder, "config.json"));
        Config.Architectures = architectures;
    }

    public static LlamaRewardModel Load(string folder, Device? device = null)
    {
        var reward = new LlamaRewardModel(LlamaConfig.Load(Path.Combine(folder, "config.json")), device);
        ModelCheckpoint.LoadWeights(folder, reward.named_parameters().Select(p => (p.name, p.parameter)).ToList());
        return reward;
    }
}
