using Tao.Trainer.Evaluation;

namespace Tao.Flywheel.Tests;

/// <summary>The promotion rule: a gain counts only when its 95 % interval clears the margin, and any significant loss vetoes.</summary>
public sealed class PromotionPolicyTests
{
    private static PromotionSignal Signal(string task, SignalKind kind, int items, double live, double candidate, int seed = 3)
    {
        var random = new Random(seed);
        var pairs = Enumerable.Range(0, items).Select(_ => (random.NextDouble() < live ? 1.0 : 0.0, random.NextDouble() < candidate ? 1.0 : 0.0, "all")).ToList();
        return new PromotionSignal(task, kind, PairedComparison.Compute(pairs));
    }

    [Fact]
    public void ASignificantGain_Promotes_AndEveryNumberBehindItIsRecorded()
    {
        var decision = new PromotionPolicy(0).Decide([Signal("sql", SignalKind.Labelled, 400, 0.55, 0.80), Signal("sql", SignalKind.Verified, 60, 0.9, 0.92)]);

        Assert.True(decision.Promote, decision.Reason);
        Assert.StartsWith("significant gain on labelled.sql", decision.Reason);
        var numbers = decision.Numbers();
        Assert.True(numbers["labelled.sql.low"] > 0);
        Assert.Equal(400, numbers["labelled.sql.items"]);
        Assert.Contains("verified.sql.p", numbers.Keys);
    }

    [Fact]
    public void AGainInsideItsInterval_IsNoGain()
    {
        var decision = new PromotionPolicy(0).Decide([Signal("docqa", SignalKind.Labelled, 150, 0.40, 0.413)]);

        Assert.False(decision.Promote);
        Assert.StartsWith("no gain clears the margin", decision.Reason);
    }

    [Fact]
    public void ANoOpCandidate_IsRejected()
    {
        var same = Enumerable.Range(0, 300).Select(i => (i % 3 == 0 ? 1.0 : 0.0, i % 3 == 0 ? 1.0 : 0.0, "all")).ToList();

        var decision = new PromotionPolicy(0).Decide([new PromotionSignal("sql", SignalKind.Labelled, PairedComparison.Compute(same))]);

        Assert.False(decision.Promote);
    }

    [Fact]
    public void ASignificantLossOnAnySignal_Vetoes_AGainElsewhere()
    {
        var decision = new PromotionPolicy(0).Decide([Signal("sql", SignalKind.Labelled, 400, 0.5, 0.8), Signal("docqa", SignalKind.Labelled, 400, 0.7, 0.4)]);

        Assert.False(decision.Promote);
        Assert.StartsWith("significant loss on labelled.docqa", decision.Reason);
    }

    [Fact]
    public void TheMargin_IsWhatTheLowerBoundMustClear()
    {
        var signal = Signal("sql", SignalKind.Labelled, 400, 0.5, 0.6);

        Assert.True(new PromotionPolicy(0).Decide([signal]).Promote);
        Assert.False(new PromotionPolicy(0.2).Decide([signal]).Promote);
        Assert.False(new PromotionPolicy(0).Decide([]).Promote);
    }

    [Fact]
    public void LabelledSlices_RotateBetweenRounds()
    {
        var examples = Enumerable.Range(0, 1000).Select(i => new LabelledEvalExample([], i.ToString(), new Dictionary<string, string>())).ToList();

        var first = RoundRunner.LabelledSlice(examples, 0, 400);
        var second = RoundRunner.LabelledSlice(examples, 1, 400);
        var third = RoundRunner.LabelledSlice(examples, 2, 400);

        Assert.Equal(400, first.Count);
        Assert.Empty(first.Intersect(second));
        Assert.Equal(first, third); // two whole slices of 400 fit in 1000: rounds alternate
        Assert.Equal(examples, RoundRunner.LabelledSlice(examples, 5, 0));
    }

    [Fact]
    public void CanaryErrorRates_AreComparedAsIndependentSamples()
    {
        var worse = PairedComparison.Independent(successA: 990, totalA: 1000, successB: 900, totalB: 1000);
        var same = PairedComparison.Independent(990, 1000, 49, 50);

        Assert.True(worse.SignificantLoss);
        Assert.False(same.SignificantLoss || same.SignificantGain);
        Assert.Equal(-0.09, worse.Gain, 6);
    }
}
