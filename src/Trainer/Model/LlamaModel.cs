using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>The decoder stack: token embeddings, the layers, a final norm. Returns the last hidden states.</summary>
public sealed class LlamaModel : nn.Module<CausalLMInput, Tensor>
{
    private readonly LlamaRotaryEmbedding _rotary;
#pragma warning disable IDE1006 // names match Hugging Face checkpoint keys
    public TorchSharp.Modules.Embedding embed_tokens;
    public TorchSharp.Modules.ModuleList<LlamaDecoderLayer> layers;
    public LlamaRmsNorm norm;
#pragma warning restore IDE1006

    public LlamaModel(LlamaConfig config, Device device) : base(nameof(LlamaModel))
    {
        Config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.HiddenSize);
        layers = nn.ModuleList(Enumerable.Range(0, config.NumHiddenLayers).Select(i => new LlamaDecoderLayer(config, i)).ToArray());
        norm = new LlamaRmsNorm(config.HiddenSize, config.RmsNormEps);
        _rotary = new LlamaRotaryEmbedding(config, device);
        RegisterComponents();
    }

    public LlamaConfig Config { get; }

    public override Tensor forward(CausalLMInput input)
    {
        using var scope = NewDisposeScope();
        var ids = input.InputIds;
        var (batch, length) = (ids.shape[0], ids.shape[1]);
        var past = input.Cache?.Length ?? 0;
        var mask = input.AttentionMask ?? ones(batch, past + length, ScalarType.Int64, ids.device);
        var positions = input.PositionIds ?? arange(past, past + length, ScalarType.Int64, ids.device).unsqueeze(0).expand(batch, length);
        var (cos, sin) = _rotary.Compute(positions);
        var bias = AttentionBias(mask, length, past);
        var hidden = embed_tokens.forward(ids);
        foreach (var layer in layers)
        {
            hidden = layer.forward(new AttentionInput(hidden, cos, sin, bias, input.Cache));
        }

        return norm.forward(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Additive mask [batch, 1, new, past + new]: a query sees keys at or before its own position that are not padding.
    /// Blocked entries get a large negative rather than -inf, so fully padded rows stay finite.
    /// </summary>
    private static Tensor AttentionBias(Tensor mask, long length, long past)
    {
        using var scope = NewDisposeScope();
        var total = past + length;
        var queryPositions = arange(past, total, ScalarType.Int64, mask.device).unsqueeze(1);   // [new, 1]
        var keyPositions = arange(0, total, ScalarType.Int64, mask.device).unsqueeze(0);        // [1, total]
        var causal = keyPositions.le(queryPositions);                                            // [new, total]
        var allowed = causal.unsqueeze(0).logical_and(mask.to_type(ScalarType.Bool).unsqueeze(1)); // [b, new, total]
        var bias = zeros(allowed.shape, ScalarType.Float32, mask.device).masked_fill(allowed.logical_not(), Scalars.Blocked);
        return bias.unsqueeze(1).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _rotary.Dispose();
        }

        base.Dispose(disposing);
    }
}
