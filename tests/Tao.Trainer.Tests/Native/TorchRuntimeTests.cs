using static TorchSharp.torch;

namespace Tao.Trainer.Tests.Native;

/// <summary>TorchSharp loads and computes here: the build's native fix (where the system needs it) works.</summary>
public sealed class TorchRuntimeTests
{
    [Fact]
    public void Matmul_RunsOnCpu_AndMatchesAHandComputedResult()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);
        var b = tensor(new float[] { 5, 6, 7, 8 }, [2, 2]);

        var product = a.matmul(b);

        Assert.Equal(new float[] { 19, 22, 43, 50 }, product.data<float>().ToArray());
    }

    [Fact]
    public void Autograd_ComputesGradients()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3 }, requires_grad: true);

        (x * x).sum().backward();

        Assert.Equal(new float[] { 2, 4, 6 }, x.grad!.data<float>().ToArray());
    }
}
