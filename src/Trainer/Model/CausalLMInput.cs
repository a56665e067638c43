using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>Input of a forward pass: token ids, optionally the padding mask over cache + new tokens, positions and the cache.</summary>
public sealed record CausalLMInput(Tensor InputIds, Tensor? AttentionMask = null, Tensor? PositionIds = null, KvCache? Cache = null);
