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
}
