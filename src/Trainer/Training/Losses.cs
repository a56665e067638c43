using Tao.Trainer.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Tao.Trainer.Training;

/// <summary>The objectives of a TAO round. Each takes per-token log-probabilities [b, t] with a completion mask [b, t].</summary>
internal static class Losses
{
    /// <summary>Group-relative advantages: reward minus the group mean, divided by the group's std for GRPO.</summary>
    public static double[] GroupAdvantages(IReadOnlyList<double> rewards, AdvantageVariant variant, double epsilon = 1e-6)
    {
        var mean = rewards.Average();
        if (variant == AdvantageVariant.DrGrpo)
        {
            return rewards.Select(r => r - mean).ToArray();
        }

        var std = Math.Sqrt(rewards.Sum(r => (r - mean) * (r - mean)) / Math.Max(1, rewards.Count - 1));
        return rewards.Select(r => (r - mean) / (std + epsilon)).ToArray();
    }

    /// <summary>Mean negative log-likelihood of the completion tokens (supervised fine-tuning, best-of-N).</summary>
    public static Tensor Sft(Tensor logProbs, Tensor mask) => -(logProbs * mask).sum() / mask.sum().clamp_min(Scalars.One);

    /// <summary>
    /// GRPO policy loss with clipped importance ratios and an optional KL penalty to a reference model (k3 estimator:
    /// exp(ref - logp) - (ref - logp) - 1, unbiased and always positive).
    /// </summary>
    /// <param name="logProbs">Current policy, [b, t].</param>
    /// <param name="oldLogProbs">Policy that sampled the batch, [b, t]; equal to <paramref name="logProbs"/> on the first pass.</param>
    /// <param name="refLogProbs">Reference model, [b, t], or null for no KL term.</param>
    /// <param name="advantages">One per sequence, [b].</param>
    /// <param name="maxTokens">Dr. GRPO's constant normaliser (the generation budget).</param>
    public static Tensor Grpo(Tensor logProbs, Tensor oldLogProbs, Tensor? refLogProbs, Tensor advantages, Tensor mask,
        double clip, double klBeta, AdvantageVariant variant, int maxTokens)
    {
        using var scope = NewDisposeScope();
        var ratio = (logProbs - oldLogProbs.detach()).exp();
        var advantage = advantages.unsqueeze(-1);
        var unclipped = ratio * advantage;
        using var low = (1 - clip).ToScalar(); // held over the call (see Scalars)
        using var high = (1 + clip).ToScalar();
        var clipped = ratio.clamp(low, high) * advantage;
        var perToken = -minimum(unclipped, clipped);
        if (refLogProbs is not null && klBeta > 0)
        {
            var delta = refLogProbs.detach() - logProbs;
            using var beta = klBeta.ToScalar();
            perToken = perToken.Plus((delta.exp() - delta).sub(Scalars.One).mul(beta));
        }

        var masked = perToken * mask;
        using var budget = ((double)maxTokens).ToScalar();
        var loss = variant == AdvantageVariant.DrGrpo
            ? masked.sum(-1).div(budget)
            : masked.sum(-1) / mask.sum(-1).clamp_min(Scalars.One);
        return loss.mean().MoveToOuterDisposeScope();
    }

    /// <summary>k3 estimate of KL(policy || reference) per completion token, for logging.</summary>
    public static Tensor KlK3(Tensor logProbs, Tensor refLogProbs, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var delta = refLogProbs - logProbs;
        return (((delta.exp() - delta).sub(Scalars.One) * mask).sum() / mask.sum().clamp_min(Scalars.One)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DPO on (chosen, rejected) pairs: -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))) with sequence log-probabilities.
    /// </summary>
    public static Tensor Dpo(Tensor policyChosen, Tensor policyRejected, Tensor refChosen, Tensor refRejected, double beta)
    {
        using var scope = NewDisposeScope();
        var margin = (policyChosen - refChosen.detach()) - (policyRejected - refRejected.detach());
        using var scale = beta.ToScalar();
        return (-nn.functional.logsigmoid(margin.mul(scale))).mean().MoveToOuterDisposeScope();
    }

    /// <summary>Sum of completion-token log-probabilities per sequence, [b].</summary>
    public static Tensor SequenceLogProbs(Tensor logProbs, Tensor mask) => (logProbs * mask).sum(-1);
}
