using Tao.Trainer.Training;
using static TorchSharp.torch;

namespace Tao.Trainer.Tests.Training;

/// <summary>The objectives on cases small enough to compute by hand.</summary>
public sealed class LossTests
{
    private static Tensor T(float[,] values) => tensor(values);
    private static Tensor T(params float[] values) => tensor(values);

    [Fact]
    public void GroupAdvantages_Grpo_DividesByTheGroupStd_DrGrpo_DoesNot()
    {
        double[] rewards = [1, 0, 0.5, 0.5];
        var std = Math.Sqrt(0.5 / 3); // sample std of the deviations (0.5, -0.5, 0, 0)

        var grpo = Losses.GroupAdvantages(rewards, AdvantageVariant.Grpo);
        var dr = Losses.GroupAdvantages(rewards, AdvantageVariant.DrGrpo);

        Assert.Equal(new[] { 0.5 / std, -0.5 / std, 0, 0 }, grpo, (a, b) => Math.Abs(a - b) < 1e-5);
        Assert.Equal(new[] { 0.5, -0.5, 0, 0 }, dr);
    }

    [Fact]
    public void Grpo_OnPolicy_IsMinusAdvantagePerToken_NormalisedPerSequenceOrByTheBudget()
    {
        var logProbs = T(new float[,] { { -1, -2, -3 }, { -1, -1, -1 } });
        var mask = T(new float[,] { { 1, 1, 0 }, { 1, 0, 0 } });
        var advantages = T(1, -2);

        var grpo = Losses.Grpo(logProbs, logProbs, null, advantages, mask, 0.2, 0, AdvantageVariant.Grpo, 4).item<float>();
        var dr = Losses.Grpo(logProbs, logProbs, null, advantages, mask, 0.2, 0, AdvantageVariant.DrGrpo, 4).item<float>();

        Assert.Equal((-1f + 2f) / 2, grpo, 5);             // sequence means -1 and +2
        Assert.Equal((-2f / 4 + 2f / 4) / 2, dr, 5);        // token sums over the budget of 4
    }

    [Fact]
    public void Grpo_ClipsTheImportanceRatio()
    {
        var old = T(new float[,] { { 0 }, { 0 } });
        var current = T(new float[,] { { (float)Math.Log(1.5) }, { (float)Math.Log(0.5) } });
        var mask = T(new float[,] { { 1 }, { 1 } });

        var loss = Losses.Grpo(current, old, null, T(1, -1), mask, 0.2, 0, AdvantageVariant.Grpo, 1).item<float>();

        // ratio 1.5 with A = +1 is clipped to 1.2: -1.2; ratio 0.5 with A = -1 is clipped to 0.8: min(-0.5, -0.8) = -0.8, loss +0.8.
        Assert.Equal((-1.2f + 0.8f) / 2, loss, 5);
    }

    [Fact]
    public void KlK3_MatchesItsFormula()
    {
        var logProbs = T(new float[,] { { 0 } });
        var reference = T(new float[,] { { (float)Math.Log(2) } });

        var kl = Losses.KlK3(logProbs, reference, T(new float[,] { { 1 } })).item<float>();

        Assert.Equal(2 - Math.Log(2) - 1, kl, 5);
        var withKl = Losses.Grpo(logProbs, logProbs, reference, T(0f), T(new float[,] { { 1 } }), 0.2, 0.5, AdvantageVariant.Grpo, 1).item<float>();
        Assert.Equal(0.5 * (2 - Math.Log(2) - 1), withKl, 5);
    }

    [Fact]
    public void Dpo_IsMinusLogSigmoidOfTheScaledMargin()
    {
        var loss = Losses.Dpo(T(-1f), T(-2f), T(-1.5f), T(-1.5f), 0.1).item<float>();

        Assert.Equal(Math.Log(1 + Math.Exp(-0.1)), loss, 5); // margin (0.5) - (-0.5) = 1
    }

    [Fact]
    public void Sft_IsTheMeanNegativeLogLikelihoodOfCompletionTokens()
    {
        var loss = Losses.Sft(T(new float[,] { { -1, -2, -9 }, { -3, -9, -9 } }), T(new float[,] { { 1, 1, 0 }, { 1, 0, 0 } })).item<float>();

        Assert.Equal(2f, loss, 5);
    }
}
