using Tao.Trainer.Benchmark;

namespace Tao.Cli.Benchmarks;

/// <summary>
/// The benchmark's curves as PNGs: held-out accuracy against candidates per input (our Figure 3), and against
/// consecutive flywheel rounds on fresh inputs, each point with its 95 % interval, labelled fine-tuning as a line.
/// </summary>
internal static class TaoBenchmarkChart
{
    /// <summary>Writes the charts the report has data for; returns their paths.</summary>
    public static IReadOnlyList<string> Write(TaoBenchmarkReport report, string folder)
    {
        var written = new List<string>();
        if (report.Families.Any(f => f.Budgets.Count > 1))
        {
            var path = Path.Combine(folder, "tao-budgets.png");
            Curve(report, f => f.Budgets.Where(p => p.X > 0).ToList(), p => Math.Log2(p.X), f => f.Budgets.FirstOrDefault(p => p.X == 0),
                f => f.Seeds.Count > 0 ? new CurvePoint(0, f.Ft, 0, 0) : null, // pooled over the seeds, as the curve's points are
                "candidates per input (tuning compute; inference cost unchanged)", "TAO held-out accuracy against tuning compute", path,
                report.Families.SelectMany(f => f.Budgets).Where(p => p.X > 0).Select(p => p.X).Distinct().Order().Select(x => (Math.Log2(x), x.ToString())).ToArray());
            written.Add(path);
        }

        if (report.Families.Any(f => f.Rounds.Count > 1))
        {
            var path = Path.Combine(folder, "tao-rounds.png");
            Curve(report, f => f.Rounds, p => p.X, f => null, f => f.RoundsFt,
                "consecutive flywheel rounds, each on fresh inputs (0 = the base model)", "The more it is used, the better it gets", path,
                report.Families.SelectMany(f => f.Rounds).Select(p => p.X).Distinct().Order().Select(x => ((double)x, x.ToString())).ToArray());
            written.Add(path);
        }

        return written;
    }

    private static void Curve(TaoBenchmarkReport report, Func<FamilyResult, IReadOnlyList<CurvePoint>> points, Func<CurvePoint, double> x,
        Func<FamilyResult, CurvePoint?> baseline, Func<FamilyResult, CurvePoint?> labelled, string xLabel, string title, string path, (double X, string Label)[] ticks)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var family in report.Families.Where(f => points(f).Count > 0))
        {
            var color = palette.GetColor(index++);
            var curve = points(family);
            var xs = curve.Select(x).ToArray();
            var ys = curve.Select(p => p.Accuracy * 100).ToArray();
            var line = plot.Add.Scatter(xs, ys, color);
            line.LegendText = $"{family.Family}: TAO (no labels)";
            line.LineWidth = 2;
            line.MarkerSize = 7;
            var bars = plot.Add.ErrorBar(xs, ys, curve.Select(p => (p.High - p.Accuracy) * 100).ToArray());
            bars.YErrorPositive = curve.Select(p => (p.High - p.Accuracy) * 100).ToArray();
            bars.YErrorNegative = curve.Select(p => (p.Accuracy - p.Low) * 100).ToArray();
            bars.Color = color;
            if (baseline(family) is { } start)
            {
                plot.Add.HorizontalLine(start.Accuracy * 100, 1, color, ScottPlot.LinePattern.Dotted).LegendText = $"{family.Family}: base";
            }

            if (labelled(family) is { } ft)
            {
                plot.Add.HorizontalLine(ft.Accuracy * 100, 1.5f, color, ScottPlot.LinePattern.Dashed).LegendText = $"{family.Family}: labelled fine-tuning";
            }
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks.Select(t => t.X).ToArray(), ticks.Select(t => t.Label).ToArray());
        plot.XLabel(xLabel);
        plot.YLabel("held-out accuracy (%), 95 % interval");
        plot.Title(title);
        plot.Axes.SetLimitsY(0, 100);
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(path, 960, 600);
    }
}
