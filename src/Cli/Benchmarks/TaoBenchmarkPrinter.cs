using System.Globalization;
using System.Text;
using Tao.Trainer.Benchmark;

namespace Tao.Cli.Benchmarks;

internal static class TaoBenchmarkPrinter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Markdown(TaoBenchmarkReport report)
    {
        var text = new StringBuilder();
        var budgets = report.Families.SelectMany(f => f.Tao.Keys).Distinct().Order().ToList();
        var objective = report.Options?.Objective.ToString() ?? "";
        text.AppendLine("Held-out accuracy (%, inputs no tuning saw). Base: the project's own small model, briefly trained from scratch. " +
                        "Labelled FT: supervised fine-tuning on the tuning inputs with their gold answers. TAO ×N: the same inputs without " +
                        $"answers, N candidates per input scored without labels, {objective}; N is the tuning compute. " +
                        "pass@N and pick@N (largest N, measured on the held-out inputs with the base model, not used by tuning): how often the N samples " +
                        "contain a right answer, and how often the label-free scorer's favourite is right.");
        text.AppendLine();
        text.Append("| task | tuning inputs | held-out | pass@N | pick@N | base | labelled FT |");
        foreach (var budget in budgets)
        {
            text.Append($" TAO ×{budget} |");
        }

        text.AppendLine();
        text.Append("|---|---:|---:|---:|---:|---:|---:|");
        text.AppendLine(string.Concat(budgets.Select(_ => "---:|")));
        foreach (var family in report.Families)
        {
            text.Append(string.Create(Inv, $"| {family.Family} | {family.TuningInputs} | {family.HeldOut} | {family.PassAtN * 100:0.0} | {family.LabelFreePick * 100:0.0} | {family.Base * 100:0.0} | {family.Sft * 100:0.0} |"));
            foreach (var budget in budgets)
            {
                text.Append(family.Tao.TryGetValue(budget, out var accuracy) ? string.Create(Inv, $" {accuracy * 100:0.0} |") : " |");
            }

            text.AppendLine();
        }

        text.AppendLine();
        text.AppendLine("Inference cost stays the same: tokens per answer on the held-out set, before and after tuning:");
        text.AppendLine();
        foreach (var family in report.Families)
        {
            var tuned = string.Join(", ", family.TaoTokensPerAnswer.Select(t => string.Create(Inv, $"TAO ×{t.Key} {t.Value:0.0}")));
            text.AppendLine(string.Create(Inv, $"- {family.Family}: base {family.BaseTokensPerAnswer:0.0}; {tuned}"));
        }

        if (report.Throughput is { } t)
        {
            text.AppendLine();
            text.AppendLine(string.Create(Inv,
                $"Throughput ({t.Parameters:N0}-parameter model, CPU): training {t.TrainingTokensPerSecond:0} tokens/s ≈ {t.TrainingGflops:0.0} GFLOP/s " +
                $"(6 × parameters × tokens) next to {t.MatmulGflops:0} GFLOP/s for a 1024² fp32 matmul measured in the same run; generation " +
                $"{t.GenerationTokensPerSecondCached:0} tokens/s with the KV cache, {t.GenerationTokensPerSecondUncached:0} without " +
                $"({t.GenerationTokensPerSecondCached / t.GenerationTokensPerSecondUncached:0.0}×)."));
        }

        text.AppendLine();
        var baseNote = report.BaseFromCache
            ? " (base model reused from an earlier run)."
            : string.Create(Inv, $", of which {report.BaseBuildSeconds / 60:0.0} building the base model (kept for later runs).");
        text.AppendLine(string.Create(Inv, $"Whole run: {report.ElapsedSeconds / 60:0.0} minutes{baseNote}"));
        return text.ToString();
    }
}
