using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Training;

/// <summary>
/// AdamW with decoupled weight decay, the same arithmetic as TorchSharp's <c>optim.AdamW</c> operation for operation (a
/// test checks the weights agree bit for bit), but every scalar it hands libtorch is held over the step. TorchSharp's
/// step converts its doubles to scalars implicitly (<c>mul_(beta1)</c>, <c>add_(grad, alpha: 1 - beta1)</c>, …): nothing
/// keeps those alive during the native call, and a garbage collection on another thread can free one that libtorch is
/// reading (dotnet/TorchSharp#1434, #1496). Long benchmark runs died of that (see <see cref="Model.Scalars"/>).
/// </summary>
internal sealed class AdamW : IDisposable
{
    private readonly List<(TorchSharp.Modules.Parameter Parameter, Tensor ExpAvg, Tensor ExpAvgSq)> _state;
    private readonly double _weightDecay, _beta1, _beta2, _eps;
    private long _step;

    public AdamW(IEnumerable<TorchSharp.Modules.Parameter> parameters, double learningRate, double weightDecay = 0.0,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        Parameters = [.. parameters];
        _state = [.. Parameters.Select(p => (p, zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope()))];
        LearningRate = learningRate;
        (_weightDecay, _beta1, _beta2, _eps) = (weightDecay, beta1, beta2, eps);
    }

    /// <summary>The weights it steps (what the caller clips the gradient of).</summary>
    public IReadOnlyList<TorchSharp.Modules.Parameter> Parameters { get; }

    /// <summary>The rate of the next step (the caller's schedule sets it before each step).</summary>
    public double LearningRate { get; set; }

    /// <summary>
    /// One step down <paramref name="loss"/>'s gradient at <paramref name="rate"/>, the gradient's norm clipped to
    /// <paramref name="maxGradNorm"/> over <see cref="Parameters"/>: what the supervised trainer and the policy updater both do.
    /// </summary>
    public void Minimise(Tensor loss, double rate, double maxGradNorm = 1.0)
    {
        ZeroGrad();
        loss.backward();
        nn.utils.clip_grad_norm_(Parameters, maxGradNorm);
        LearningRate = rate;
        Step();
    }

    public void ZeroGrad()
    {
        using var scope = NewDisposeScope(); // the gradients' handles read here, not the gradients
        foreach (var (parameter, _, _) in _state)
        {
            if (parameter.grad is { } grad)
            {
                grad.zero_();
            }
        }
    }

    public void Step()
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        _step++;
        var correction1 = 1 - Math.Pow(_beta1, _step);
        var correction2 = 1 - Math.Pow(_beta2, _step);
        using var decay = (1 - LearningRate * _weightDecay).ToScalar();
        using var b1 = _beta1.ToScalar();
        using var b2 = _beta2.ToScalar();
        using var rest1 = (1 - _beta1).ToScalar();
        using var rest2 = (1 - _beta2).ToScalar();
        using var root2 = Math.Sqrt(correction2).ToScalar();
        using var epsilon = _eps.ToScalar();
        using var stepSize = (-(LearningRate / correction1)).ToScalar();
        foreach (var (parameter, expAvg, expAvgSq) in _state)
        {
            if (parameter.grad is not { } grad)
            {
                continue;
            }

            parameter.mul_(decay);
            expAvg.mul_(b1).add_(grad, alpha: rest1);
            expAvgSq.mul_(b2).addcmul_(grad, grad, value: rest2);
            var denominator = expAvgSq.sqrt().div(root2).add_(epsilon);
            parameter.addcdiv_(expAvg, denominator, value: stepSize);
        }
    }

    public void Dispose()
    {
        foreach (var (_, expAvg, expAvgSq) in _state)
        {
            expAvg.Dispose();
            expAvgSq.Dispose();
        }
    }
}
