using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>
/// Constant TorchSharp scalars, kept alive for the life of the process. A scalar made by implicit conversion at a call
/// site (<c>tensor - 1</c>, <c>masked_fill(mask, -1e9f)</c>) is a managed object with a finalizer that frees its native
/// value, and nothing keeps it alive once its handle has been read: a garbage collection during the native call can free
/// the value libtorch is reading. That showed as a rare crash in the benchmark ("Expected false to be true" from
/// c10::Scalar::toFloat in the attention mask's masked_fill, once in ~20 runs, more often as generation allocated more).
/// The model's forward pass, sampling and the losses use these, and scalars that vary are held by a <c>using</c> over the call.
/// </summary>
internal static class Scalars
{
    /// <summary>
    /// <c>a + b</c> without the operator's own scalar: TorchSharp's <c>Tensor + Tensor</c> is <c>add(b, 1)</c>, a scalar made
    /// by implicit conversion for every call (a crash in the rotary embedding's addition, 45 minutes into a benchmark, was
    /// this). Subtraction, multiplication and division of two tensors take no scalar.
    /// </summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    public static readonly Scalar Zero = 0.ToScalar();

    public static readonly Scalar One = 1.ToScalar();

    /// <summary>The additive attention bias of a blocked position (large and finite, so fully padded rows stay finite).</summary>
    public static readonly Scalar Blocked = (-1e9f).ToScalar();
}
