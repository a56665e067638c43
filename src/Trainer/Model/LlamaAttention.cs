using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>Multi-head attention with grouped-query heads (num_key_value_heads) and rotary positions.</summary>
public sealed class LlamaAttention : nn.Module<AttentionInput, Tensor>
{
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private readonly int _layer;
#pragma warning disable IDE1006 // names match Hugging Face checkpoint keys
    public nn.Module<Tensor, Tensor> q_proj;
    public nn.Module<Tensor, Tensor> k_proj;
    public nn.Module<Tensor, Tensor> v_proj;
    public nn.Module<Tensor, Tensor> o_proj;
#pragma warning restore IDE1006

    public LlamaAttention(LlamaConfig config, int layer) : base(nameof(LlamaAttention))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.HeadDim;
        _layer = layer;
        q_proj = nn.Linear(config.HiddenSize, _heads * _headDim, hasBias: config.AttentionBias);
        k_proj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.AttentionBias);
        v_proj = nn.Linear(config.HiddenSize, _kvHeads * _headDim, hasBias: config.AttentionBias);
        o_proj = nn.Linear(_heads * _headDim, config.HiddenSize, hasBias: config.AttentionBias);
        RegisterComponents();
    }

    public override Tensor forward(AttentionInput input)
    {
        using var scope = NewDisposeScope();
        var (batch, length) = (input.Hidden.shape[0], input.Hidden.shape[1]);
        var q = q_proj.forward(input.Hidden).view(batch, length, _heads, _headDim).transpose(1, 2);
        var k = k_proj.forward(input.Hidden).view(batch, length, _kvHeads, _headDim).transpose(1, 2);
        var v = v_proj.forward(input.Hidden).view(batch, length, _kvHeads, _headDim).transpose(1, 2);
        q = LlamaRotaryEmbedding.Apply(q, input.Cos, input.Sin);
        k = LlamaRotaryEmbedding.Apply(k, input.Cos, input.Sin);
        if (input.Cache is { } cache)
        {
            (k, v) = cache.Append(_layer, k, v);
        }

        Tensor attended;
        if (_kvHeads != _heads && length == 1)
        {
            // Decoding one token with grouped-query attention: the query heads that share a key/value head are stacked
            // as if they were positions ([b, kv, groups, d]), so the cached keys and values are not copied per head.
            attended = nn.functional.scaled_dot_product_attention(q.reshape(batch, _kvHeads, _heads / _kvHeads, _headDim), k, v, input.Bias)
                .view(batch, _heads, length, _headDim);
        }
        else
        {
            if (_kvHeads != _heads)
            {
                var groups = _heads / _kvHeads;
                k = k.repeat_interleave(groups, dim: 1);
                v = v.repeat_interleave(groups, dim: 1);
            }

            attended = nn.functional.scaled_dot_product_attention(q, k, v, input.Bias);
        }

        var merged = attended.transpose(1, 2).contiguous().view(batch, length, _heads * _headDim);
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
