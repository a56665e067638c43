using TorchSharp;
using static TorchSharp.torch;
using Tao.Trainer.Model;

namespace Tao.Trainer.Lora;

/// <summary>
/// A frozen linear layer plus a trainable low-rank update: y = x W^T + b + (alpha/r) * x A^T B^T. B starts at zero, so an
/// adapted model starts out exactly equal to its base.
/// </summary>
public sealed class LoraLinear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // names match PEFT's
    public TorchSharp.Modules.Parameter weight;
    public TorchSharp.Modules.Parameter? bias;
    public TorchSharp.Modules.Linear lora_A;
    public TorchSharp.Modules.Linear lora_B;
#pragma warning restore IDE1006

    public LoraLinear(TorchSharp.Modules.Linear source, LoraOptions options) : base(nameof(LoraLinear))
    {
        Scaling = options.Scaling;
        _scaling = Scaling.ToScalar();
        Rank = options.Rank;
        weight = new TorchSharp.Modules.Parameter(source.weight!.detach().clone(), requires_grad: false);
        bias = source.bias is null ? null : new TorchSharp.Modules.Parameter(source.bias.detach().clone(), requires_grad: false);
        var (outFeatures, inFeatures) = (source.weight.shape[0], source.weight.shape[1]);
        lora_A = nn.Linear(inFeatures, options.Rank, hasBias: false);
        lora_B = nn.Linear(options.Rank, outFeatures, hasBias: false);
        using (no_grad())
        {
            nn.init.kaiming_uniform_(lora_A.weight!, a: Math.Sqrt(5));
            nn.init.zeros_(lora_B.weight!);
        }

        RegisterComponents();
    }

    public double Scaling { get; }

    public int Rank { get; }

    private readonly TorchSharp.Scalar _scaling; // held for the module's life (see Model.Scalars)

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var output = nn.functional.linear(input, weight, bias).Plus(lora_B.forward(lora_A.forward(input)).mul(_scaling));
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>The base weight with the update folded in: W + (alpha/r) B A.</summary>
    public Tensor MergedWeight()
    {
        using var noGrad = no_grad();
        return weight.Plus(lora_B.weight!.matmul(lora_A.weight!).mul(_scaling));
    }
}
