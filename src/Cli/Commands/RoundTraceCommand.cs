using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Tao.Flywheel;
using Tao.Hosting;
using Tao.Storage;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Evaluation;
using Tao.Trainer.Tasks;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Cli.Commands;

/// <summary>
/// tao flywheel trace: every set of weights a finished round kept (its starting weights, each iteration, each polish
/// epoch) evaluated on a labelled set, beside the label-free dev score the round chose by. A diagnostic for "why did this
/// round choose what it chose, and what would the others have done": nothing here feeds back into a round.
/// </summary>
internal static class RoundTraceCommand
{
    public static Command Create()
    {
        var round = new Argument<string>("round") { Description = "The round's folder (Tao:Flywheel:WorkPath/rounds/<round id>)." };
        var labelled = new Option<string>("--labelled") { Description = "Labelled set (JSON lines: messages, expected, context).", Required = true };
        var model = new Option<string>("--model") { Description = "The round's parent checkpoint (config.json, safetensors, tokenizer).", Required = true };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per answer (the round's Round:MaxTokens). Default: 48.", DefaultValueFactory = _ => 48 };
        var finalsOnly = new Option<bool>("--finals") { Description = "Only the weights that competed for the kept ones (iterations, each polish run's last epoch) and the starting weights." };
        var data = CommonOptions.Data();
        var command = new Command("trace",
            "Evaluate every set of weights a finished round kept (starting weights, iterations, polish epochs) on a labelled set, beside the " +
            "label-free dev score the round chose by; writes trace.jsonl into the round's folder. Diagnostics: never used to choose. " +
            "The store (for SQL answers) is the data folder's embedded one or Tao:ClickHouse:Url. " + TaoConfiguration.EnvironmentHelp)
        {
            round, labelled, model, maxTokens, finalsOnly, data,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var folder = Path.GetFullPath(result.GetValue(round)!);
            var tao = Path.Combine(folder, "tao");
            var kept = Path.Combine(tao, "iterations");
            if (!Directory.Exists(kept))
            {
                Console.Error.WriteLine($"{kept}: no kept weights (is this a round's folder, and did the round train in process?)");
                return 2;
            }

            var configuration = TaoConfiguration.Build(result.GetValue(data), []);
            await using var store = await ClickHouseStore.OpenAsync(configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new(), cancellationToken);
            await new SqlTaskFamily(store).PrepareAsync(cancellationToken);
            var examples = LabelledSet.Read(result.GetValue(labelled)!);
            var parent = result.GetValue(model)!;
            var tokenizer = TextTokenizer.Load(parent);
            using var policy = ModelCheckpoint.Load(parent);
            var trainable = policy.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter)).ToList();
            var dev = DevScores(Path.Combine(tao, "metrics.jsonl"));
            var evaluator = new VersionEvaluator(store);
            var ids = Directory.GetDirectories(kept).Select(d => int.TryParse(Path.GetFileName(d), out var i) ? i : -1).Where(i => i >= 0).Order().ToList();
            var finals = KeptWeights.Finals(ids);
            if (result.GetValue(finalsOnly))
            {
                ids = ids.Where(i => i == 0 || finals.Contains(i)).ToList();
            }
            List<bool>? start = null;
            var lines = new List<string>();
            Console.WriteLine($"{"weights",-12} {"dev",7} {"labelled",9}  gain vs start [95 % CI]   ({examples.Count} labelled items; * competes for the kept weights)");
            foreach (var id in ids)
            {
                ModelCheckpoint.LoadWeights(Path.Combine(kept, id.ToString(CultureInfo.InvariantCulture)), trainable);
                var right = await evaluator.RightAsync(policy, tokenizer, examples, result.GetValue(maxTokens), cancellationToken);
                start ??= right;
                var comparison = PairedComparison.Compute(start.Zip(right).Select(p => (p.First ? 1.0 : 0.0, p.Second ? 1.0 : 0.0, "")).ToList());
                var accuracy = right.Count(r => r) / (double)right.Count;
                var name = KeptWeights.Name(id);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name + (finals.Contains(id) ? "*" : ""),-12} {(dev.TryGetValue(id, out var d) ? d.ToString("0.000", CultureInfo.InvariantCulture) : "-"),7} {accuracy * 100,8:0.0}%  " +
                    $"{comparison.Gain * 100:+0.0;-0.0} [{comparison.Low * 100:+0.0;-0.0}, {comparison.High * 100:+0.0;-0.0}]"));
                lines.Add(JsonSerializer.Serialize(new { id, name, competes = finals.Contains(id), dev = dev.TryGetValue(id, out var dd) ? dd : (double?)null, labelled = accuracy, right }));
            }

            await File.WriteAllLinesAsync(Path.Combine(folder, "trace.jsonl"), lines, cancellationToken);
            return 0;
        });
        return command;
    }

    /// <summary>The last dev score logged for each kept id (the final choice rescored them all against one pool; that line wins).</summary>
    private static Dictionary<int, double> DevScores(string metrics)
    {
        var scores = new Dictionary<int, double>();
        if (!File.Exists(metrics))
        {
            return scores;
        }

        foreach (var line in File.ReadLines(metrics))
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var kind = root.GetProperty("event").GetString();
            if (kind == "selected" && root.TryGetProperty("note", out var note))
            {
                foreach (var (id, score) in KeptWeights.ParseDevNote(note.GetString()))
                {
                    scores[id] = score;
                }
            }
            else if (kind is "evaluate" or "polish" && root.TryGetProperty("dev", out var dev) && root.TryGetProperty("iteration", out var iteration))
            {
                scores.TryAdd(iteration.GetInt32(), dev.GetDouble());
            }
        }

        return scores;
    }
}
