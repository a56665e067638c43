using System.CommandLine;
using System.Text.Json;
using Tao.Storage;
using Tao.Trainer.Benchmark;
using Tao.Trainer.Tasks;

namespace Tao.Cli.Benchmarks;

/// <summary>tao bench tao: base vs labelled fine-tuning vs TAO at several budgets, on held-out data.</summary>
internal static class TaoBenchmarkCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "The same pipeline at a size that finishes in about 3 minutes." };
        var docs = new Option<bool>("--write-docs") { Description = "Also write the table to docs/benchmarks.md." };
        var seed = new Option<int>("--seed") { Description = "Seed of data generation and training. Default: 7.", DefaultValueFactory = _ => 7 };
        var baseEpochs = new Option<int?>("--base-epochs") { Description = "Override the base model's training epochs (a new base is built)." };
        var only = new Option<string[]>("--family") { Description = "Run only these families (sql, docqa). Default: all.", AllowMultipleArgumentsPerToken = true };
        var objective = new Option<Tao.Trainer.Training.TaoObjective?>("--objective") { Description = "TAO objective: BestOfN (default), Grpo, DrGrpo, Dpo." };
        var command = new Command("tao",
            "Reproduce TAO's claims at small scale: per task family (text-to-SQL with execution scoring, document extraction), a base " +
            "model built here, supervised fine-tuning on the tuning inputs WITH gold answers, and TAO on the same inputs WITHOUT them at " +
            "several candidate budgets, all scored on held-out inputs. Writes a markdown table, a JSON file and a PNG chart.")
        {
            quick, docs, seed, baseEpochs, only, objective,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var options = result.GetValue(quick) ? TaoBenchmarkOptions.Quick : new TaoBenchmarkOptions();
            options = options with { Base = options.Base with { Seed = result.GetValue(seed) } };
            if (result.GetValue(baseEpochs) is { } epochs)
            {
                options = options with { Base = options.Base with { Epochs = epochs } };
            }
            var folder = Path.GetFullPath(Path.Combine(".tao", "bench", "tao-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
            Directory.CreateDirectory(folder);
            await using var store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = Path.Combine(folder, "clickhouse"), Database = "tao" }, cancellationToken);
            var families = new ITaskFamily[] { new SqlTaskFamily(store), new DocumentQaTaskFamily() }
                .Where(f => result.GetValue(only) is not { Length: > 0 } names || names.Contains(f.Name)).ToArray();
            if (result.GetValue(objective) is { } chosen)
            {
                options = options with { Objective = chosen };
            }
            var start = DateTime.UtcNow;
            var report = await new TaoBenchmark(families, options, folder, message => Console.WriteLine($"[{(DateTime.UtcNow - start).TotalSeconds,5:0}s] {message}"))
                .RunAsync(Path.GetFullPath(Path.Combine(".tao", "models")), cancellationToken);
            var markdown = TaoBenchmarkPrinter.Markdown(report);
            Console.WriteLine();
            Console.WriteLine(markdown);
            await File.WriteAllTextAsync(Path.Combine(folder, "report.md"), markdown, cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }), cancellationToken);
            TaoBenchmarkChart.Write(report, Path.Combine(folder, "tao.png"));
            Console.WriteLine($"table, JSON and chart: {Path.GetRelativePath(Directory.GetCurrentDirectory(), folder)}");
            if (result.GetValue(docs))
            {
                await BenchmarkDocs.WriteSectionAsync("tao", markdown, cancellationToken);
                File.Copy(Path.Combine(folder, "tao.png"), Path.Combine("docs", "tao-benchmark.png"), overwrite: true);
            }

            return 0;
        });
        return command;
    }
}
