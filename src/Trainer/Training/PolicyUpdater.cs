using Tao.Trainer.Model;
using static TorchSharp.torch;

namespace Tao.Trainer.Training;

/// <summary>
/// The optimiser side of a round: AdamW over the trainable weights on one warm-up + cosine schedule across the whole
/// round, and the losses of the objectives (fine-tuning on targets, on-policy GRPO steps with a k3 KL to the
/// reference, DPO on pairs). Every step opens a dispose scope and clips the gradient norm to 1.
/// </summary>
internal sealed class PolicyUpdater(LlamaForCausalLM policy, int padId, TaoRoundOptions options, LlamaForCausalLM? reference) : IDisposable
{
    private readonly List<TorchSharp.Modules.Parameter> _trainable = policy.parameters().Where(p => p.requires_grad).ToList();
    private AdamW? _optimizer;

    public sealed record StepResult(double Loss, double? Kl, double LearningRate, long Tokens);

    /// <summary>Optimiser steps taken so far in the round (the schedule's position).</summary>
    public int Steps { get; set; }

    /// <summary>Steps the schedule spans (set once the round knows its size).</summary>
    public int PlannedSteps { get; set; } = 1;

    private AdamW Optimizer => _optimizer ??= new AdamW(_trainable, options.LearningRate);

    public IEnumerable<StepResult> FineTune(IReadOnlyList<TrainingItem> items, int epochs, Random random)
    {
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var order = items.OrderBy(_ => random.Next()).ToList();
            for (var start = 0; start < order.Count; start += options.BatchSize)
            {
                yield return Step(order.Skip(start).Take(options.BatchSize).ToList(), (logProbs, mask, _) => (Losses.Sft(logProbs, mask), null));
            }
        }
    }

    /// <summary>One on-policy GRPO step over whole groups: the ratio to the sampling policy is 1 with its gradient, plus the KL term.</summary>
    public StepResult Grpo(IReadOnlyList<TrainingItem> items, AdvantageVariant variant, int maxTokens) =>
        Step(items, (logProbs, mask, batch) =>
        {
            var advantages = tensor(batch.Select(b => (float)b.Advantage).ToArray(), device: policy.Device);
            var refLogProbs = reference is null || options.KlBeta <= 0 ? null : Frozen(reference, batch);
            var loss = Losses.Grpo(logProbs, logProbs.detach(), refLogProbs, advantages, mask, options.Clip, options.KlBeta, variant, maxTokens);
            double? kl = refLogProbs is null ? null : Losses.KlK3(logProbs.detach(), refLogProbs, mask).item<float>();
            return (loss, kl);
        });

    /// <summary>DPO over (chosen, rejected) pairs: items come in pairs, chosen first.</summary>
    public IEnumerable<StepResult> Dpo(IReadOnlyList<(TrainingItem Chosen, TrainingItem Rejected)> pairs, int epochs, Random random)
    {
        var perStep = Math.Max(1, options.BatchSize / 2);
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            var order = pairs.OrderBy(_ => random.Next()).ToList();
            for (var start = 0; start < order.Count; start += perStep)
            {
                var batch = order.Skip(start).Take(perStep).SelectMany(p => new[] { p.Chosen, p.Rejected }).ToList();
                yield return Step(batch, (logProbs, mask, items) =>
                {
                    var sequence = Losses.SequenceLogProbs(logProbs, mask).view(-1, 2);
                    var referenceSequence = Losses.SequenceLogProbs(Frozen(reference!, items), mask).view(-1, 2);
                    return (Losses.Dpo(sequence[.., 0], sequence[.., 1], referenceSequence[.., 0], referenceSequence[.., 1], options.DpoBeta), null);
                });
            }
        }
    }

    private StepResult Step(IReadOnlyList<TrainingItem> batch, Func<Tensor, Tensor, IReadOnlyList<TrainingItem>, (Tensor Loss, double? Kl)> objective)
    {
        using var scope = NewDisposeScope();
        policy.train();
        var (ids, attention, target) = SequenceBatch.Build(batch.Select(b => (b.Prompt, b.Completion)).ToList(), padId, policy.Device);
        var (logProbs, mask) = SequenceBatch.TokenLogProbs(policy, ids, attention, target);
        var (loss, kl) = objective(logProbs, mask, batch);
        var rate = LearningRateSchedule.At(Steps, Math.Max(PlannedSteps, Steps + 1), options.LearningRate, options.WarmupFraction, options.LearningRateFloor);
        Optimizer.Minimise(loss, rate);
        Steps++;
        return new StepResult(loss.item<float>(), kl, rate, batch.Sum(b => b.Prompt.Length + b.Completion.Length));
    }

    private Tensor Frozen(LlamaForCausalLM model, IReadOnlyList<TrainingItem> batch)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (ids, attention, target) = SequenceBatch.Build(batch.Select(b => (b.Prompt, b.Completion)).ToList(), padId, model.Device);
        var (logProbs, _) = SequenceBatch.TokenLogProbs(model, ids, attention, target);
        return logProbs.MoveToOuterDisposeScope();
    }

    public void Dispose() => _optimizer?.Dispose();
}
