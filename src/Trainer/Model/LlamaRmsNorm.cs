using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>Root-mean-square layer norm with a learned scale ("weight").</summary>
public sealed class LlamaRmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly TorchSharp.Scalar _eps; // held for the module's life (see Scalars)
#pragma warning disable IDE1006 // names match Hugging Face checkpoint keys
    private readonly TorchSharp.Modules.Parameter weight;
#pragma warning restore IDE1006

    public LlamaRmsNorm(int size, double eps) : base(nameof(LlamaRmsNorm))
    {
        _eps = eps.ToScalar();
        weight = nn.Parameter(ones(size));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.to_type(ScalarType.Float32);
        var variance = x.square().mean([-1], keepdim: true);
        var normed = x * rsqrt(variance.add(_eps));
        return (weight * normed.to_type(input.dtype)).MoveToOuterDisposeScope();
    }
}
