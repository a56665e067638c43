using Tao.Trainer.Model;
using Tao.Trainer.Training;
using static TorchSharp.torch;

namespace Tao.Trainer.Tests.Training;

public sealed class AdamWTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.01)]
    public void Steps_GiveTheSameWeightsAsTorchSharpsAdamW_BitForBit(double weightDecay)
    {
        using var ours = TinyModels.Create(seed: 3);
        using var theirs = TinyModels.Create(seed: 3);
        using var adam = new Tao.Trainer.Training.AdamW(ours.parameters(), 1e-2, weightDecay);
        using var reference = optim.AdamW(theirs.parameters(), lr: 1e-2, weight_decay: weightDecay);
        List<(int[], int[])> items = [([1, 5, 9], [12, 40, 2]), ([1, 7], [3, 2])];
        void Backward(LlamaForCausalLM model)
        {
            var (ids, attention, target) = SequenceBatch.Build(items, 0, CPU);
            var (logProbs, mask) = SequenceBatch.TokenLogProbs(model, ids, attention, target);
            Losses.Sft(logProbs, mask).backward();
        }

        for (var step = 0; step < 6; step++)
        {
            using var scope = NewDisposeScope();
            var rate = 1e-2 * (step + 1) / 6; // a schedule, as the callers set one
            adam.LearningRate = rate;
            adam.ZeroGrad();
            Backward(ours);
            adam.Step();

            foreach (var group in reference.ParamGroups)
            {
                group.LearningRate = rate;
            }

            reference.zero_grad();
            Backward(theirs);
            reference.step();
        }

        var pairs = ours.named_parameters().Zip(theirs.named_parameters()).ToList();
        Assert.All(pairs, p => Assert.True(p.First.parameter.allclose(p.Second.parameter, rtol: 0, atol: 0), p.First.name));
        using var start = TinyModels.Create(seed: 3);
        Assert.Contains(pairs.Zip(start.parameters()), p => !p.First.First.parameter.allclose(p.Second, rtol: 0, atol: 0)); // the steps moved the weights
    }
}
