using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>What one attention layer reads: hidden states, rotary tables, the additive mask, the cache.</summary>
public sealed record AttentionInput(Tensor Hidden, Tensor Cos, Tensor Sin, Tensor Bias, KvCache? Cache);
