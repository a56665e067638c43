using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>Rotary position embedding (Hugging Face's rotate-half convention), with Llama 3 frequency scaling.</summary>
internal sealed class LlamaRotaryEmbedding : IDisposable
{
    private readonly Tensor _invFreq;

    public LlamaRotaryEmbedding(LlamaConfig config, Device device)
    {
        var dim = config.HeadDim;
        var inv = new float[dim / 2];
        for (var i = 0; i < inv.Length; i++)
        {
            inv[i] = (float)(1.0 / Math.Pow(config.RopeTheta, 2.0 * i / dim));
        }

        if (config.RopeScaling is { } scaling)
        {
            inv = scaling.Kind switch
            {
                "llama3" => Llama3Scale(inv, scaling),
                "default" => inv,
                var other => throw new NotSupportedException($"rope_scaling type '{other}' is not supported"),
            };
        }

        _invFreq = tensor(inv, device: device);
    }

    private static float[] Llama3Scale(float[] inv, RopeScaling s)
    {
        var lowWavelen = s.OriginalMaxPositionEmbeddings / s.LowFreqFactor;
        var highWavelen = s.OriginalMaxPositionEmbeddings / s.HighFreqFactor;
        return inv.Select(f =>
        {
            var wavelen = 2 * Math.PI / f;
            if (wavelen < highWavelen)
            {
                return f;
            }

            if (wavelen > lowWavelen)
            {
                return (float)(f / s.Factor);
            }

            var smooth = (s.OriginalMaxPositionEmbeddings / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
            return (float)((1 - smooth) * f / s.Factor + smooth * f);
        }).ToArray();
    }

    /// <summary>cos and sin for positions [batch, seq], each [batch, 1, seq, head_dim].</summary>
    public (Tensor Cos, Tensor Sin) Compute(Tensor positions)
    {
        using var scope = NewDisposeScope();
        var freqs = positions.to_type(ScalarType.Float32).unsqueeze(-1) * _invFreq; // [b, s, d/2]
        var emb = cat([freqs, freqs], -1).unsqueeze(1);                             // [b, 1, s, d]
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }

    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var x1 = x[.., .., .., ..(int)half];
        var x2 = x[.., .., .., (int)half..];
        var rotated = cat([-x2, x1], -1);
        return (x * cos).Plus(rotated * sin).MoveToOuterDisposeScope();
    }

    public void Dispose() => _invFreq.Dispose();
}
