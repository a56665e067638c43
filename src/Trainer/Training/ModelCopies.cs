using Tao.Trainer.Model;
using static TorchSharp.torch;

namespace Tao.Trainer.Training;

/// <summary>Copies of weights: a frozen reference model, and in-memory snapshots to return to the best state.</summary>
public static class ModelCopies
{
    /// <summary>An independent frozen copy (the reference model for KL and DPO).</summary>
    public static LlamaForCausalLM Frozen(LlamaForCausalLM source)
    {
        var copy = new LlamaForCausalLM(source.Config, source.Device);
        Restore(copy, Snapshot(source));
        foreach (var parameter in copy.parameters())
        {
            parameter.requires_grad = false;
        }

        copy.eval();
        return copy;
    }

    /// <summary>
    /// The frozen reference of a round (the KL anchor, DPO's reference): a copy of the policy, or with LoRA adapters the
    /// base weights alone — a copy without the adapters, which is exactly the policy before training.
    /// </summary>
    public static LlamaForCausalLM Reference(LlamaForCausalLM policy, bool adapters)
    {
        if (!adapters)
        {
            return Frozen(policy);
        }

        var copy = new LlamaForCausalLM(policy.Config, policy.Device);
        var baseWeights = policy.named_parameters().Where(p => !p.name.Contains("lora_")).ToDictionary(p => p.name, p => p.parameter);
        using (no_grad())
        {
            foreach (var (name, parameter) in copy.named_parameters())
            {
                parameter.copy_(baseWeights[name]);
                parameter.requires_grad = false;
            }
        }

        copy.eval();
        return copy;
    }

    /// <summary>Detached clones of every parameter, by name.</summary>
    public static Dictionary<string, Tensor> Snapshot(LlamaForCausalLM model)
    {
        using var noGrad = no_grad();
        return model.named_parameters().ToDictionary(p => p.name, p =>
        {
            var clone = p.parameter.detach().clone();
            clone.DetachFromDisposeScope();
            return clone;
        });
    }

    /// <summary>Copies <paramref name="source"/>'s weights into <paramref name="target"/> (same configuration), no clone between.</summary>
    public static void CopyWeights(LlamaForCausalLM source, LlamaForCausalLM target) =>
        Restore(target, source.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter));

    public static void Restore(LlamaForCausalLM model, IReadOnlyDictionary<string, Tensor> snapshot)
    {
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.named_parameters())
        {
            parameter.copy_(snapshot[name]);
        }
    }

    public static void Dispose(Dictionary<string, Tensor>? snapshot)
    {
        foreach (var tensor in snapshot?.Values ?? Enumerable.Empty<Tensor>())
        {
            tensor.Dispose();
        }
    }
}
