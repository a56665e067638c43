using System.Globalization;
using System.Text;
using Tao.Trainer.Benchmark;
using Tao.Trainer.Evaluation;

namespace Tao.Cli.Benchmarks;

/// <summary>The TAO benchmark as markdown: the main table with paired intervals, per seed, per iteration, and the targets in words.</summary>
internal static class TaoBenchmarkPrinter
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>What each family's label-free scorer is, in a few words.</summary>
    private static readonly Dictionary<string, string> Regimes = new(StringComparer.Ordinal)
    {
        ["sql"] = "execution: runs, literals grounded, values covered, computes what the question asks (rules); result agreement",
        ["docqa"] = "extraction: grounded in the document, shape by question; agreement",
        ["units"] = "verifier: substitution with a units table",
    };

    public static string Markdown(TaoBenchmarkReport report)
    {
        var options = report.Options ?? new TaoBenchmarkOptions();
        var text = new StringBuilder();
        var n = options.Candidates;
        text.AppendLine(($"Held-out accuracy (%) on inputs no tuning saw, pooled over {options.Seeds.Length} traffic seed{(options.Seeds.Length == 1 ? "" : "s")} " +
            $"({string.Join(", ", options.Seeds)}: each draws its own tuning and held-out inputs and samples with its own seed; the base model is the same). " +
            $"Base: the project's own {report.Throughput?.Parameters / 1e6 ?? 0:0.0}M-parameter model, trained from scratch here. Labelled FT: fine-tuning on the " +
            $"tuning inputs WITH their gold answers, {options.FtEpochs} epochs at each learning rate, the rate chosen by its last epoch's score on a dev slice " +
            $"(the lower rate unless a higher one leads by more than the paired difference's standard error). TAO ×{n}: the same inputs WITHOUT answers, {n} candidates " +
            $"per input scored without labels{(options.Grounded ? " (where a family's answers are spans of a document, docqa, sampled within its whole spans)" : "")}, " +
            $"{options.Round.Objective} over up to {options.Round.Iterations} iterations (each sampling the inputs without a target " +
            $"yet, {options.Round.TemperatureStep:0.##} hotter than the last up to {options.Round.MaxTemperature:0.##}, until the buffer of targets stops growing), then the " +
            $"starting weights fine-tuned on the final buffer to convergence (its learning rate chosen among {string.Join(", ", options.Round.PolishRateFactors.Select(f => f * options.Round.LearningRate))} " +
            $"on the label-free dev slice by the same rule, as the labelled baseline chooses its own among {string.Join(", ", options.FtRates)} on its labelled one, " +
            "going on past the grid's edge (×3 above, ÷3 below) while a rate at it wins" +
            (options.Round.PolishPasses > 1 ? $"; up to {options.Round.PolishPasses} times, while the polished weights find targets for more inputs" : "") + "); the kept weights " +
            "(an iteration's, or a polish rate's last epoch: the end of its schedule) chosen on a label-free dev slice. " +
            "Gains are paired: 95 % bootstrap interval over the held-out items (resampled within each seed) and McNemar's exact test. A gain whose " +
            "interval contains 0 is no gain."));
        text.AppendLine();
        text.AppendLine($"| family | label-free scorer | tuning inputs | held-out | base | labelled FT | TAO ×{n} | TAO − base [95 % CI] | p | TAO − FT [95 % CI] | p |");
        text.AppendLine("|---|---|---:|---:|---:|---:|---:|---|---:|---|---:|");
        foreach (var f in report.Families)
        {
            text.AppendLine(string.Create(Inv,
                $"| {f.Family} | {Regimes.GetValueOrDefault(f.Family, "")} | {f.TuningInputs} | {f.HeldOutPerSeed} × {f.Seeds.Count} | {P(f.Base)} | {P(f.Ft)} | **{P(f.Tao)}** | " +
                $"{Gain(f.TaoVsBase)} | {PValue(f.TaoVsBase)} | {Gain(f.TaoVsFt)} | {PValue(f.TaoVsFt)} |"));
        }

        var acrossSeeds = AcrossSeeds(report);
        if (acrossSeeds.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("These intervals resample the held-out items with each seed's trained models held fixed. A training run is itself a draw: " +
                            "its result moves with the tuning inputs, the sampling and even the last bits of the CPU's arithmetic. Counting each seed's " +
                            "run as one draw (Student's t over the per-seed gains, seeds − 1 degrees of freedom; wide with three seeds):");
            text.AppendLine();
            text.AppendLine("| family | TAO − base, per seed | mean [95 % CI] over seeds | TAO − FT, per seed | mean [95 % CI] over seeds |");
            text.AppendLine("|---|---|---|---|---|");
            foreach (var f in acrossSeeds)
            {
                text.AppendLine($"| {f.Family} | {PerRun(f.TaoVsBaseAcrossSeeds!)} | {Across(f.TaoVsBaseAcrossSeeds!)} | {PerRun(f.TaoVsFtAcrossSeeds!)} | {Across(f.TaoVsFtAcrossSeeds!)} |");
            }
        }

        text.AppendLine();
        text.AppendLine("Per seed (labelled FT: chosen rate, epochs and steps; TAO: iterations run, share of the training inputs with a target at the end, " +
                        "what was kept (iteration k, or polish pass p of those run after e epochs), optimiser steps in all; pass@N / pick@N: the base model's N samples " +
                        "on the held-out inputs contain a right answer / the label-free scorer's favourite is right — measured, not used):");
        text.AppendLine();
        text.AppendLine($"| family | seed | base | labelled FT | FT rate, epochs, steps | TAO | TAO iterations, coverage, kept, steps, seconds | pass@{n} | pick@{n} |");
        text.AppendLine("|---|---:|---:|---:|---|---:|---|---:|---:|");
        foreach (var f in report.Families)
        {
            foreach (var s in f.Seeds)
            {
                var kept = s.TaoPolishEpoch > 0
                    ? string.Create(Inv, $"polish {s.TaoPolishPass}/{s.TaoPolishPasses} at {s.TaoPolishRate:0.####} epoch {s.TaoPolishEpoch}")
                    : $"iteration {s.TaoBestIteration}";
                text.AppendLine(string.Create(Inv,
                    $"| {f.Family} | {s.Seed} | {P(s.Base)} | {P(s.Ft)} | {s.FtLearningRate:0.####}, {s.FtEpochs}, {s.FtSteps} | {P(s.Tao)} | " +
                    $"{s.TaoIterations}, {P(s.TaoCoverage)} %, {kept}, {s.TaoSteps}, {s.TaoSeconds:0} | {P(s.PassAtN)} | {P(s.PickAtN)} |"));
            }
        }

        text.AppendLine();
        text.AppendLine("TAO by iteration (mean over the seeds that ran it). Groups: inputs sampled (after the first iteration, those without a " +
                        "target yet); kept: groups whose pick passed the confidence filter; coverage: share of the training inputs with a target. " +
                        "Target precision: share of the targets the round selected that are right; pick: the label-free favourite is right; pass@N: " +
                        "some candidate is right — all three over the sampled groups, judged with the tuning inputs' gold answers for this report " +
                        "only. Entropy: nats per sampled token. Dev: the label-free dev score the kept weights are chosen by.");
        text.AppendLine();
        text.AppendLine($"| family | iteration | kept / groups | coverage | target precision | pick | pass@{n} | entropy | dev |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var f in report.Families)
        {
            foreach (var group in f.Seeds.SelectMany(s => s.Iterations).GroupBy(i => i.Iteration).OrderBy(g => g.Key))
            {
                text.AppendLine(string.Create(Inv,
                    $"| {f.Family} | {group.Key} | {group.Average(i => i.Kept):0} / {group.Average(i => i.Groups):0} | {P(Mean(group, i => i.Coverage))} | {P(Mean(group, i => i.TargetPrecision))} | " +
                    $"{P(Mean(group, i => i.PickAccuracy))} | {P(Mean(group, i => i.PassAtN))} | {Mean(group, i => i.Entropy):0.000} | {Mean(group, i => i.Dev):0.000} |"));
            }
        }

        if (report.Families.Any(f => f.Objectives.Count > 0))
        {
            text.AppendLine();
            text.AppendLine($"Objectives at the same budget ({n} candidates per input, same iterations), seed {options.Seeds[0]}:");
            text.AppendLine();
            text.AppendLine("| family | objective | held-out | − base [95 % CI] | seconds |");
            text.AppendLine("|---|---|---:|---|---:|");
            foreach (var f in report.Families)
            {
                var first = f.Seeds.FirstOrDefault();
                if (first is not null)
                {
                    text.AppendLine(string.Create(Inv, $"| {f.Family} | {options.Round.Objective} (default) | {P(first.Tao)} | | {first.TaoSeconds:0} |"));
                }

                foreach (var o in f.Objectives)
                {
                    text.AppendLine(string.Create(Inv, $"| {f.Family} | {o.Objective} | {P(o.Accuracy)} | {Gain(o.VsBase)} | {o.Seconds:0} |"));
                }
            }
        }

        Curves(text, report);

        if (report.Families.Any(f => f.TaoVsFtWithinReach is not null || f.TaoVsFtBeyondReach is not null))
        {
            text.AppendLine();
            text.AppendLine($"Where the gap to labelled FT comes from: the held-out items split by whether one of the base model's {n} samples was " +
                            "right (within its reach) or none was (beyond it). Label-free tuning can only reinforce answers the model samples; " +
                            "gold answers also teach the others. Accuracy, labelled FT → TAO, and TAO − FT [95 % CI]:");
            text.AppendLine();
            text.AppendLine("| family | within reach | labelled FT | TAO | TAO − FT [95 % CI] | beyond reach: labelled FT | TAO | TAO − FT [95 % CI] |");
            text.AppendLine("|---|---:|---:|---:|---|---:|---:|---|");
            foreach (var f in report.Families)
            {
                text.AppendLine(string.Create(Inv,
                    $"| {f.Family} | {P(f.ReachShare)} % | {P(f.TaoVsFtWithinReach?.MeanA)} | {P(f.TaoVsFtWithinReach?.MeanB)} | {Gain(f.TaoVsFtWithinReach)} | " +
                    $"{P(f.TaoVsFtBeyondReach?.MeanA)} | {P(f.TaoVsFtBeyondReach?.MeanB)} | {Gain(f.TaoVsFtBeyondReach)} |"));
            }
        }

        text.AppendLine();
        text.AppendLine("Inference cost is unchanged: tokens per answer on the held-out inputs, base → TAO: " +
                        string.Join("; ", report.Families.Select(f => string.Create(Inv, $"{f.Family} {f.BaseTokensPerAnswer:0.0} → {f.TaoTokensPerAnswer:0.0}"))) + ".");
        text.AppendLine();
        text.AppendLine("**Targets** (from the learning issue):");
        text.AppendLine();
        foreach (var line in Targets(report))
        {
            text.AppendLine("- " + line);
        }

        if (report.Throughput is { } t)
        {
            text.AppendLine();
            text.AppendLine(string.Create(Inv,
                $"Throughput ({t.Parameters:N0}-parameter model, CPU): training {t.TrainingTokensPerSecond:0} tokens/s ≈ {t.TrainingGflops:0.0} GFLOP/s " +
                $"(6 × parameters × tokens) next to {t.MatmulGflops:0} GFLOP/s for a 1024² fp32 matmul in the same run; generation " +
                $"{t.GenerationTokensPerSecondCached:0} tokens/s with the KV cache, {t.GenerationTokensPerSecondUncached:0} without."));
        }

        text.AppendLine();
        var baseNote = report.BaseFromCache
            ? $" (base model {report.BaseModel} reused from an earlier run)."
            : string.Create(Inv, $", of which {report.BaseBuildSeconds / 60:0.0} building the base model (kept for later runs).");
        var workers = report.Workers > 1 ? string.Create(Inv, $" with {report.Workers} jobs at once (each torch operation on one thread)") : "";
        var kernels = report.Kernels is { } k ? $" CPU kernels pinned ({k}): a host with the same instruction set reproduces these figures to the decimal." : "";
        text.AppendLine(string.Create(Inv, $"Whole run: {report.ElapsedSeconds / 60:0.0} minutes{workers}{baseNote}{kernels} Per-item answers: items.jsonl next to this report."));
        return text.ToString();
    }

    /// <summary>The curves alone, with their target and the run's length: the docs section a --curves run writes.</summary>
    public static string CurvesMarkdown(TaoBenchmarkReport report)
    {
        var text = new StringBuilder();
        Curves(text, report);
        text.AppendLine();
        if (BudgetsTarget(report) is { } target)
        {
            text.AppendLine("- " + target);
        }

        text.AppendLine();
        text.AppendLine(string.Create(Inv, $"Whole run, with the main table's jobs: {report.ElapsedSeconds / 60:0.0} minutes."));
        return text.ToString();
    }

    private static void Curves(StringBuilder text, TaoBenchmarkReport report)
    {
        if (!report.Families.Any(f => f.Budgets.Count > 0 || f.Rounds.Count > 0))
        {
            return;
        }

        var options = report.Options ?? new TaoBenchmarkOptions();
        text.AppendLine();
        text.AppendLine($"Curves (accuracy [95 % CI]; candidates per input pooled over seeds {string.Join(", ", options.Seeds)}, each seed's in parentheses, " +
                        "a seed's other budgets polishing at the rate its ×" + options.Candidates.ToString(Inv) + " round chose" +
                        (report.Families.Any(f => f.Rounds.Count > 0) ? $"; consecutive rounds on seed {options.Seeds[0]}" : "") + "):");
        text.AppendLine();
        foreach (var f in report.Families.Where(f => f.Budgets.Count > 0))
        {
            text.AppendLine($"- {f.Family}, candidates per input: " + string.Join("; ", f.Budgets.Select(p => $"{(p.X == 0 ? "base" : "×" + p.X)} {Point(p)}" +
                (p.PerSeed is { } perSeed ? $" ({string.Join(", ", perSeed.Select(a => P(a)))})" : ""))));
        }

        var gated = report.Families.Any(f => f.Rounds.Any(p => p.Promoted is not null));
        foreach (var f in report.Families.Where(f => f.Rounds.Count > 0))
        {
            text.AppendLine($"- {f.Family}, consecutive rounds on fresh inputs{(gated ? ", the served model" : "")}: " +
                            string.Join("; ", f.Rounds.Select(p => $"{(p.X == 0 ? "base" : "round " + p.X)} {Point(p)}{Gate(p)}")) +
                            (f.RoundsFt is { } ft ? $"; labelled FT on all rounds' inputs {Point(ft)}" : ""));
        }

        if (gated)
        {
            text.AppendLine();
            text.AppendLine("Each round's model is served only when the flywheel's promotion gate passes it (PromotionPolicy on gate examples of their own: " +
                            "verifier checks on held-out inputs and a labelled canary, paired); a round it does not promote leaves the served model as it was, " +
                            "and the next round continues from that one. In parentheses: promoted, or not and what the round's own model scored.");
        }
    }

    private static string Gate(CurvePoint p) => p.Promoted switch
    {
        true => " (promoted)",
        false => $" (not promoted: {P(p.Candidate)})",
        null => "",
    };

    /// <summary>The families whose gains were also counted across seeds (more than one seed ran).</summary>
    private static List<FamilyResult> AcrossSeeds(TaoBenchmarkReport report) =>
        report.Families.Where(f => f.Seeds.Count > 1 && f.TaoVsBaseAcrossSeeds is not null && f.TaoVsFtAcrossSeeds is not null).ToList();

    private static string PerRun(RunInterval r) => string.Join(", ", r.Gains.Select(g => string.Create(Inv, $"{g * 100:+0.0;-0.0}")));

    private static string Across(RunInterval r) => double.IsFinite(r.Low)
        ? string.Create(Inv, $"{r.Mean * 100:+0.0;-0.0} [{r.Low * 100:+0.0;-0.0}, {r.High * 100:+0.0;-0.0}]")
        : string.Create(Inv, $"{r.Mean * 100:+0.0;-0.0}");

    /// <summary>
    /// Whether a larger budget's point lies wholly below a smaller budget's interval — any smaller one, not only its
    /// neighbour (a slide of two steps, each inside its neighbour's interval, is still a fall).
    /// </summary>
    public static bool FallsBeyondIntervals(IReadOnlyList<CurvePoint> points) =>
        points.Select((later, j) => points.Take(j).Any(earlier => later.High < earlier.Low)).Any(f => f);

    /// <summary>Each target of the learning issue, met or missed, in words.</summary>
    public static IEnumerable<string> Targets(TaoBenchmarkReport report)
    {
        foreach (var f in report.Families)
        {
            var c = f.TaoVsBase!;
            var met = c.Gain >= 0.15 && c.Low >= 0.10;
            yield return ($"{f.Family}: TAO − base ≥ +15 points with the interval's lower bound ≥ +10 — **{(met ? "met" : "missed")}** " +
                $"({c.Gain * 100:+0.0;-0.0} [{c.Low * 100:+0.0;-0.0}, {c.High * 100:+0.0;-0.0}])" +
                (met ? "." : $": short by {Math.Max(0, 15 - c.Gain * 100):0.0} points on the gain and {Math.Max(0, 10 - c.Low * 100):0.0} on the lower bound."));
        }

        var atLeastFt = report.Families.Where(f => f.Tao >= f.Ft).Select(f => f.Family).ToList();
        yield return $"TAO ≥ converged labelled FT on at least two families — **{(atLeastFt.Count >= 2 ? "met" : "missed")}** " +
                     $"({(atLeastFt.Count == 0 ? "none" : string.Join(", ", atLeastFt))}; " +
                     string.Join(", ", report.Families.Select(f => string.Create(Inv, $"{f.Family} {Gain(f.TaoVsFt)}"))) + ")" +
                     (atLeastFt.Count >= 2 ? "." : $": short on {string.Join(", ", report.Families.Where(f => f.Tao < f.Ft).Select(f => string.Create(Inv, $"{f.Family} by {(f.Ft - f.Tao) * 100:0.0} points")))}.");
        // The same comparison read with its intervals: which families are significantly better, indistinguishable, or worse.
        string Reading(FamilyResult f) => f.TaoVsFt is not { } c ? "—" : c.Low > 0 ? "better" : c.High < 0 ? "worse" : "indistinguishable";
        yield return "TAO against labelled FT with the intervals (not a target, the reading of the line above): " +
                     string.Join("; ", report.Families.Select(f => $"{f.Family} {Reading(f)}")) + ".";
        var acrossSeeds = AcrossSeeds(report);
        if (acrossSeeds.Count > 0)
        {
            var clear = acrossSeeds.Where(f => f.TaoVsBaseAcrossSeeds!.Low >= 0.10).Select(f => f.Family).ToList();
            yield return "with each seed's training run as one draw (not the issue's criterion, which is the item interval above): TAO − base lower bound ≥ +10 on " +
                         (clear.Count == 0 ? "no family" : string.Join(", ", clear)) + "; " +
                         string.Join("; ", acrossSeeds.Select(f => $"{f.Family} TAO − base {Across(f.TaoVsBaseAcrossSeeds!)}, TAO − FT {Across(f.TaoVsFtAcrossSeeds!)}")) + ".";
        }

        if (BudgetsTarget(report) is { } budgets)
        {
            yield return budgets;
        }

        var options = report.Options ?? new TaoBenchmarkOptions();
        if (!options.Curves && options.CompareObjectives.Length == 0 && report.ElapsedSeconds > 0)
        {
            var limit = options.Seeds.Length == 1 ? 4 : 15; // --quick runs one seed, the full run three
            var minutes = (report.ElapsedSeconds - (report.BaseFromCache ? 0 : report.BaseBuildSeconds)) / 60;
            yield return string.Create(Inv, $"the run within {limit} minutes once the base model is built — **{(minutes <= limit ? "met" : "missed")}** ({minutes:0.0} minutes") +
                         (minutes <= limit ? ")." : string.Create(Inv, $", over by {minutes - limit:0.0})."));
        }

        var costly = report.Families.Where(f => f.TaoTokensPerAnswer > f.BaseTokensPerAnswer * 1.1).Select(f => f.Family).ToList();
        yield return $"inference cost unchanged (tokens per answer within 10 %) — **{(costly.Count == 0 ? "met" : "missed")}**" +
                     (costly.Count == 0 ? "." : $" ({string.Join(", ", costly)}).");
    }

    /// <summary>The candidates curve's target, met or missed, when the run drew the curve.</summary>
    private static string? BudgetsTarget(TaoBenchmarkReport report)
    {
        var budgets = report.Families.Where(f => f.Budgets.Count > 1).ToList();
        if (budgets.Count == 0)
        {
            return null;
        }

        var falling = budgets.Where(f => FallsBeyondIntervals(f.Budgets.Skip(1).ToList())).Select(f => f.Family).ToList(); // the first point is the base model
        return $"held-out accuracy does not fall as candidates per input grow (beyond the intervals) — **{(falling.Count == 0 ? "met" : "missed")}**" +
               (falling.Count == 0 ? "." : $" ({string.Join(", ", falling)}).");
    }

    private static double? Mean(IEnumerable<IterationResult> items, Func<IterationResult, double?> value)
    {
        var values = items.Select(value).Where(v => v is not null).Select(v => v!.Value).ToList();
        return values.Count == 0 ? null : values.Average();
    }

    private static string P(double? value) => value is null ? "—" : (value.Value * 100).ToString("0.0", Inv);

    private static string Point(CurvePoint p) => string.Create(Inv, $"{p.Accuracy * 100:0.0} [{p.Low * 100:0.0}, {p.High * 100:0.0}]");

    private static string Gain(PairedComparison? c) => c is null ? "—" : string.Create(Inv, $"{c.Gain * 100:+0.0;-0.0} [{c.Low * 100:+0.0;-0.0}, {c.High * 100:+0.0;-0.0}]");

    private static string PValue(PairedComparison? c) => c is null || double.IsNaN(c.PValue) ? "—" : c.PValue < 0.001 ? "<0.001" : c.PValue.ToString("0.000", Inv);
}
