using System.CommandLine;
using System.Text.Json;
using Tao.Storage;
using Tao.Trainer.Benchmark;
using Tao.Trainer.Tasks;
using Tao.Trainer.Training;

namespace Tao.Cli.Benchmarks;

/// <summary>tao bench tao: base vs labelled fine-tuning vs TAO on held-out data, three seeds, paired intervals, per-item results.</summary>
internal static class TaoBenchmarkCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "One seed on smaller sets (about 6.5 minutes on 2 cores once the base model is built, against a 4-minute target), still with intervals." };
        var docs = new Option<bool>("--write-docs") { Description = "Also write the tables to docs/benchmarks.md (and the curves to docs/ with --curves)." };
        var seed = new Option<int>("--seed") { Description = "First traffic seed; the run uses this and the next ones. Default: 1.", DefaultValueFactory = _ => 1 };
        var seeds = new Option<int?>("--seeds") { Description = "How many traffic seeds. Default: 3 (1 with --quick)." };
        var only = new Option<string[]>("--family") { Description = "Run only these families (sql, docqa, units). Default: all.", AllowMultipleArgumentsPerToken = true };
        var objective = new Option<TaoObjective?>("--objective") { Description = "TAO objective: BestOfN (default, expert iteration), Grpo, DrGrpo, Dpo." };
        var polishPasses = new Option<int?>("--polish-passes")
        {
            Description = "Most polishes per TAO round (the starting weights fine-tuned on the buffer, again while the polished weights find targets for more inputs). Default: 1.",
        };
        var polishRates = new Option<double[]>("--polish-rates")
        {
            Description = "The polish's learning rates, as multiples of the round's rate, chosen between on the label-free dev slice. Default: 3 10.",
            AllowMultipleArgumentsPerToken = true,
        };
        var workers = new Option<int?>("--workers")
        {
            Description = "Jobs at once (seeds, baselines, rounds and curves are separate jobs; each torch operation on one thread when more than one). " +
                          "Default: the processor count.",
        };
        var iterations = new Option<int?>("--iterations") { Description = "Most generate → score → train iterations per TAO round (it stops sooner when its buffer of targets stops growing). Default: 16." };
        var compare = new Option<bool>("--objectives") { Description = "Also run GRPO, Dr. GRPO and DPO at the same budget on the first seed." };
        var curves = new Option<bool>("--curves")
        {
            Description = "Also the curves: candidates per input 2..32 on every seed, and 6 consecutive rounds on fresh inputs (about an hour more). " +
                          "With --write-docs they go to a docs section of their own, next to the table.",
        };
        var rounds = new Option<int?>("--rounds") { Description = "Consecutive rounds of the rounds curve with --curves (0: only the candidates curve). Default: 6." };
        var candidates = new Option<int?>("--candidates")
        {
            Description = "Candidates per input of the main table's TAO rounds (the curves' budgets, on every seed). Default: 8.",
        };
        var free = new Option<bool>("--free-sampling")
        {
            Description = "TAO samples freely even where the family's answers are spans of a document (docqa), as it did before grounded sampling: the comparison.",
        };
        var trace = new Option<bool>("--trace-held-out")
        {
            Description = "Diagnostics: also evaluate every polish epoch and every labelled fine-tuning epoch on the held-out inputs and log it in rounds.jsonl " +
                          "(never used to choose). Slower.",
        };
        var command = new Command("tao",
            "Reproduce TAO's claims at small scale: per task family (text-to-SQL checked by execution, document extraction checked by grounding, " +
            "unit conversions checked by substitution), the project's base model, supervised fine-tuning on the tuning inputs WITH gold answers, " +
            "and TAO on the same inputs WITHOUT them, on held-out inputs of several traffic seeds: paired 95 % intervals, McNemar's test, per-item " +
            "results (items.jsonl), the targets met or missed in words. Writes report.md, report.json and PNG curves to .tao/bench/tao-*.")
        {
            quick, docs, seed, seeds, only, objective, iterations, polishPasses, polishRates, workers, compare, curves, rounds, free, candidates, trace,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = result.GetValue(quick) ? TaoBenchmarkOptions.Quick : new TaoBenchmarkOptions();
            var count = result.GetValue(seeds) ?? options.Seeds.Length;
            options = options with
            {
                Seeds = Enumerable.Range(result.GetValue(seed), count).ToArray(),
                Curves = result.GetValue(curves),
                Grounded = !result.GetValue(free),
                TraceHeldOut = result.GetValue(trace),
                CompareObjectives = result.GetValue(compare) ? [TaoObjective.Grpo, TaoObjective.DrGrpo, TaoObjective.Dpo] : [],
            };
            if (result.GetValue(objective) is { } chosen)
            {
                options = options with { Round = options.Round with { Objective = chosen } };
            }

            if (result.GetValue(iterations) is { } perRound and > 0)
            {
                options = options with { Round = options.Round with { Iterations = perRound } };
            }

            if (result.GetValue(candidates) is { } perInput and > 0)
            {
                options = options with { Candidates = perInput };
            }

            if (result.GetValue(rounds) is { } consecutive and >= 0)
            {
                options = options with { Rounds = consecutive };
            }

            if (result.GetValue(workers) is { } jobs and > 0)
            {
                options = options with { Workers = jobs };
            }

            if (result.GetValue(polishPasses) is { } passes and > 0)
            {
                options = options with { Round = options.Round with { PolishPasses = passes } };
            }

            if (result.GetValue(polishRates) is { Length: > 0 } factors)
            {
                options = options with { Round = options.Round with { PolishRateFactors = factors } };
            }

            var folder = Path.GetFullPath(Path.Combine(".tao", "bench", "tao-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
            Directory.CreateDirectory(folder);
            await using var store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = Path.Combine(folder, "clickhouse"), Database = "tao" }, cancellationToken);
            var families = TaskFamilies.All(store).Where(f => result.GetValue(only) is not { Length: > 0 } names || names.Contains(f.Name)).ToArray();
            var start = DateTime.UtcNow;
            var report = await new TaoBenchmark(store, families, options, folder, message => Console.WriteLine($"[{(DateTime.UtcNow - start).TotalSeconds,5:0}s] {message}"),
                    GateBenchmark.FlywheelGate(store))
                .RunAsync(Path.GetFullPath(Path.Combine(".tao", "models")), cancellationToken);
            var markdown = TaoBenchmarkPrinter.Markdown(report);
            Console.WriteLine();
            Console.WriteLine(markdown);
            await File.WriteAllTextAsync(Path.Combine(folder, "report.md"), markdown, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions
            {
                WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
            }), cancellationToken);
            var charts = TaoBenchmarkChart.Write(report, folder);
            Console.WriteLine($"report, JSON, per-item results{(charts.Count > 0 ? " and curves" : "")}: {Path.GetRelativePath(Directory.GetCurrentDirectory(), folder)}");
            if (result.GetValue(docs))
            {
                var line = "./tao bench tao" + (result.GetValue(quick) ? " --quick" : "") + (result.GetValue(curves) ? " --curves" : "") +
                           (result.GetValue(rounds) is { } shown ? $" --rounds {shown}" : "") + (result.GetValue(compare) ? " --objectives" : "") +
                           (result.GetValue(seed) != 1 ? $" --seed {result.GetValue(seed)}" : "");
                // A curves run writes only the curves' section: its table has the plain run's figures (same code, same
                // seeds) but not its timings (the run time, each round's seconds), which the 15-minute target is read from.
                var pictures = "\n" + string.Join("\n", charts.Select(c => $"![{Path.GetFileNameWithoutExtension(c)}]({Path.GetFileName(c)})"));
                await (result.GetValue(curves)
                    ? BenchmarkDocs.WriteSectionAsync("tao-curves", TaoBenchmarkPrinter.CurvesMarkdown(report) + pictures, cancellationToken, line)
                    : BenchmarkDocs.WriteSectionAsync("tao", markdown + pictures, cancellationToken, line));
                foreach (var chart in charts)
                {
                    File.Copy(chart, Path.Combine("docs", Path.GetFileName(chart)), overwrite: true);
                }
            }

            return 0;
        });
        return command;
    }
}
