using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>
/// A Llama-architecture causal language model. Submodules carry Hugging Face's names (model.layers.0.self_attn.q_proj,
/// lm_head, ...), so a checkpoint loads by a strict name match.
/// </summary>
public sealed class LlamaForCausalLM : nn.Module<CausalLMInput, Tensor>
{
#pragma warning disable IDE1006 // names match Hugging Face checkpoint keys
    public LlamaModel model;
    public TorchSharp.Modules.Linear lm_head;
#pragma warning restore IDE1006

    public LlamaForCausalLM(LlamaConfig config, Device? device = null) : base(nameof(LlamaForCausalLM))
    {
        config.Validate();
        Device = device ?? CPU;
        model = new LlamaModel(config, Device);
        lm_head = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        if (config.TieWordEmbeddings)
        {
            lm_head.weight = model.embed_tokens.weight!;
        }

        RegisterComponents();
        InitializeWeights();
        if (Device.type != DeviceType.CPU)
        {
            this.to(Device);
        }
    }

    public LlamaConfig Config => model.Config;

    public Device Device { get; }

    /// <summary>
    /// Hugging Face's Llama initialisation: every linear and embedding weight from N(0, 0.02), norms at one. TorchSharp's
    /// defaults (N(0, 1) embeddings, tied to the output head) give logits in the tens and a first loss near 40.
    /// </summary>
    public void InitializeWeights(double std = 0.02)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal))
            {
                nn.init.ones_(parameter);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                nn.init.zeros_(parameter);
            }
            else
            {
                nn.init.normal_(parameter, 0, std);
            }
        }
    }

    /// <summary>Logits [batch, new tokens, vocab].</summary>
    public override Tensor forward(CausalLMInput input)
    {
        using var scope = NewDisposeScope();
        return lm_head.forward(model.forward(input)).MoveToOuterDisposeScope();
    }

    /// <summary>Logits of the last position only [batch, vocab]: what generation needs, without the full-vocab cost per token.</summary>
    public Tensor LastLogits(CausalLMInput input)
    {
        using var scope = NewDisposeScope();
        var hidden = model.forward(input);
        return lm_head.forward(hidden[.., -1, ..]).MoveToOuterDisposeScope();
    }

    /// <summary>Parameter names as saved: a tied lm_head is the embedding and is not written twice.</summary>
    public IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> SavedParameters() =>
        named_parameters().Where(p => !(Config.TieWordEmbeddings && p.name == "lm_head.weight"));
}
