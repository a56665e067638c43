using Tao.Cli.Benchmarks;
using Tao.Trainer.Benchmark;

namespace Tao.Deploy.Tests.Commands;

/// <summary>The benchmark report's reading of the candidates-per-input curve: a fall is a point wholly below any smaller budget's interval.</summary>
public sealed class TaoBenchmarkPrinterTests
{
    private static CurvePoint P(int x, double low, double high) => new(x, (low + high) / 2, low, high);

    [Fact]
    public void ACurveThatSlidesBelowAnEarlierInterval_Falls_EvenWhenEachStepOverlapsItsNeighbour()
    {
        // The sql curve of 2026-12-03: x8 83.0 [79.3, 86.5], x16 80.0 [76.0, 84.0], x32 72.3 [67.8, 76.5].
        Assert.True(TaoBenchmarkPrinter.FallsBeyondIntervals([P(2, .718, .800), P(8, .793, .865), P(16, .760, .840), P(32, .678, .765)]));
        Assert.False(TaoBenchmarkPrinter.FallsBeyondIntervals([P(2, .793, .865), P(8, .760, .840), P(16, .770, .850)]));
        Assert.False(TaoBenchmarkPrinter.FallsBeyondIntervals([P(2, .485, .585), P(32, .575, .670)]));
    }

    [Fact]
    public void TheCurvesSection_PoolsTheSeeds_ShowsEachSeed_AndReadsTheTarget()
    {
        var family = new FamilyResult { Family = "docqa" };
        family.Budgets.AddRange([P(0, .40, .46), P(2, .60, .66) with { PerSeed = [.61, .64, .64] }, P(8, .50, .56) with { PerSeed = [.52, .53, .54] }]);
        var report = new TaoBenchmarkReport { Options = new TaoBenchmarkOptions { Seeds = [1, 2, 3], Curves = true }, ElapsedSeconds = 3000 };
        report.Families.Add(family);

        var section = TaoBenchmarkPrinter.CurvesMarkdown(report);

        Assert.Contains("pooled over seeds 1, 2, 3", section);
        Assert.Contains("×2 63.0 [60.0, 66.0] (61.0, 64.0, 64.0)", section);
        Assert.Contains("base 43.0 [40.0, 46.0];", section); // the base point pools no seeds here
        Assert.Contains("does not fall as candidates per input grow (beyond the intervals) — **missed** (docqa)", section);
        Assert.Contains("50.0 minutes", section);
        Assert.DoesNotContain("| family |", section); // the main table is the timed run's section, not this one
    }

    [Fact]
    public void TheRoundsCurve_WithTheGate_ShowsTheServedModel_AndWhatARejectedRoundScored()
    {
        var family = new FamilyResult { Family = "sql" };
        family.Rounds.AddRange([P(0, .57, .66), P(1, .64, .73) with { Promoted = true, Candidate = .685 }, P(2, .64, .73) with { Promoted = false, Candidate = .65 }]);
        var report = new TaoBenchmarkReport { Options = new TaoBenchmarkOptions { Seeds = [1], Curves = true } };
        report.Families.Add(family);

        var section = TaoBenchmarkPrinter.CurvesMarkdown(report);

        Assert.Contains("consecutive rounds on fresh inputs, the served model: base 61.5 [57.0, 66.0]; round 1 68.5 [64.0, 73.0] (promoted); " +
                        "round 2 68.5 [64.0, 73.0] (not promoted: 65.0)", section);
        Assert.Contains("promotion gate", section);
    }
}
