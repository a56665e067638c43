using Tao.Trainer.Benchmark;

namespace Tao.Cli.Benchmarks;

/// <summary>The benchmark as a PNG: held-out accuracy against candidates per input, with base and labelled fine-tuning as lines.</summary>
internal static class TaoBenchmarkChart
{
    public static void Write(TaoBenchmarkReport report, string path)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var family in report.Families)
        {
            var color = palette.GetColor(index++);
            var xs = family.Tao.Keys.Select(k => Math.Log2(k)).ToArray();
            var ys = family.Tao.Values.Select(v => v * 100).ToArray();
            var tao = plot.Add.Scatter(xs, ys, color);
            tao.LegendText = $"{family.Family}: TAO (no labels)";
            tao.LineWidth = 2;
            tao.MarkerSize = 8;
            var baseline = plot.Add.HorizontalLine(family.Base * 100, 1, color, ScottPlot.LinePattern.Dotted);
            baseline.LegendText = $"{family.Family}: base";
            var sft = plot.Add.HorizontalLine(family.Sft * 100, 1.5f, color, ScottPlot.LinePattern.Dashed);
            sft.LegendText = $"{family.Family}: labelled fine-tuning";
        }

        var budgets = report.Families.SelectMany(f => f.Tao.Keys).Distinct().Order().ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(budgets.Select(b => Math.Log2(b)).ToArray(), budgets.Select(b => b.ToString()).ToArray());
        plot.XLabel("candidates per input (tuning compute; inference cost unchanged)");
        plot.YLabel("held-out accuracy (%)");
        plot.Title("TAO on inputs only vs labelled fine-tuning");
        plot.Axes.SetLimitsY(0, 100);
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(path, 900, 560);
    }
}
