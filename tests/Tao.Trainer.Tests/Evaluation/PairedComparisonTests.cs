using Tao.Trainer.Evaluation;

namespace Tao.Trainer.Tests.Evaluation;

public sealed class PairedComparisonTests
{
    [Fact]
    public void McNemar_IsTheExactTwoSidedBinomialTestOfTheDiscordantItems()
    {
        Assert.Equal(1.0, PairedComparison.McNemar(0, 0));
        Assert.Equal(2 * Math.Pow(0.5, 10), PairedComparison.McNemar(0, 10), 12);
        Assert.Equal(PairedComparison.McNemar(3, 9), PairedComparison.McNemar(9, 3), 12);
        Assert.Equal(1.0, PairedComparison.McNemar(5, 5));
        // b = 2, c = 8: 2 * P(X <= 2), X ~ Binomial(10, 1/2) = 2 * 56 / 1024.
        Assert.Equal(2 * 56.0 / 1024, PairedComparison.McNemar(2, 8), 12);
    }

    [Fact]
    public void Gain_HasAnIntervalAroundIt_ThatExcludesZeroOnlyForARealDifference()
    {
        var random = new Random(4);
        var clear = Enumerable.Range(0, 400).Select(i => (A: random.NextDouble() < 0.4 ? 1.0 : 0.0, B: random.NextDouble() < 0.7 ? 1.0 : 0.0, S: $"s{i % 3}")).ToList();
        var none = Enumerable.Range(0, 400).Select(i => (A: random.NextDouble() < 0.5 ? 1.0 : 0.0, B: random.NextDouble() < 0.5 ? 1.0 : 0.0, S: "all")).ToList();

        var gain = PairedComparison.Compute(clear);
        var noGain = PairedComparison.Compute(none);

        Assert.InRange(gain.Gain, gain.Low, gain.High);
        Assert.True(gain.SignificantGain && gain.PValue < 0.001);
        Assert.Equal(clear.Average(c => c.B - c.A), gain.Gain, 12);
        Assert.False(noGain.SignificantGain || noGain.SignificantLoss);
        Assert.True(noGain.Low < 0 && noGain.High > 0);
        Assert.InRange(noGain.High - noGain.Low, 0.05, 0.2); // about ±2 standard errors of a 400-item paired difference
    }

    [Fact]
    public void Identical_Systems_GainNothing_WithAnEmptyInterval()
    {
        var same = Enumerable.Range(0, 50).Select(i => (A: i % 2 == 0 ? 1.0 : 0.0, B: i % 2 == 0 ? 1.0 : 0.0, S: "all")).ToList();

        var comparison = PairedComparison.Compute(same);

        Assert.Equal((0.0, 0.0, 0.0), (comparison.Gain, comparison.Low, comparison.High));
        Assert.Equal(1.0, comparison.PValue);
    }

    [Fact]
    public void AcrossRuns_IsStudentsT_OverThePerRunGains()
    {
        // Three runs: mean 0.2, sd 0.1, t(2) = 4.303: half-width 4.303 × 0.1 / √3 = 0.2484 (a textbook value, by hand).
        var three = PairedComparison.AcrossRuns([0.1, 0.2, 0.3]);
        Assert.Equal(0.2, three.Mean, 12);
        Assert.Equal(0.1, three.Sd, 12);
        Assert.Equal(-0.0484, three.Low, 4);
        Assert.Equal(0.4484, three.High, 4);

        // Consistent gains over many runs: narrow, around their mean, and t approaches the normal's 1.96.
        var many = PairedComparison.AcrossRuns([.. Enumerable.Range(0, 200).Select(i => 0.15 + (i % 2 == 0 ? 0.01 : -0.01))]);
        Assert.InRange(many.Low, 0.148, 0.15);
        Assert.InRange(PairedComparison.StudentT975(200), 1.96, 1.975);

        // One run carries no spread: an unbounded interval, never a false "significant".
        var one = PairedComparison.AcrossRuns([0.3]);
        Assert.True(double.IsNegativeInfinity(one.Low) && double.IsPositiveInfinity(one.High));
    }
}
