using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>Pre-norm transformer block: x + attn(norm(x)), then + mlp(norm(x)).</summary>
public sealed class LlamaDecoderLayer : nn.Module<AttentionInput, Tensor>
{
#pragma warning disable IDE1006 // names match Hugging Face checkpoint keys
    public LlamaAttention self_attn;
    public LlamaMlp mlp;
    public LlamaRmsNorm input_layernorm;
    public LlamaRmsNorm post_attention_layernorm;
#pragma warning restore IDE1006

    public LlamaDecoderLayer(LlamaConfig config, int layer) : base(nameof(LlamaDecoderLayer))
    {
        self_attn = new LlamaAttention(config, layer);
        mlp = new LlamaMlp(config);
        input_layernorm = new LlamaRmsNorm(config.HiddenSize, config.RmsNormEps);
        post_attention_layernorm = new LlamaRmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    public override Tensor forward(AttentionInput input)
    {
        using var scope = NewDisposeScope();
        var attended = self_attn.forward(input with { Hidden = input_layernorm.forward(input.Hidden) });
        var hidden = input.Hidden.Plus(attended);
        return hidden.Plus(mlp.forward(post_attention_layernorm.forward(hidden))).MoveToOuterDisposeScope();
    }
}
