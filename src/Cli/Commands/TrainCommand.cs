using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Tao.Hosting;
using Tao.Storage;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Generation;
using Tao.Trainer.Lora;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tasks;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Cli.Commands;

/// <summary>tao train: one TAO round from a prompts file and a scorer configuration, without the flywheel.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var prompts = new Option<string>("--prompts") { Description = "JSON lines: {\"messages\": [{\"role\", \"content\"}], \"context\": {...}} or {\"prompt\": \"...\"}.", Required = true };
        var scorer = new Option<string>("--scorer")
        {
            Description = "Scorer configuration (JSON): {\"scorers\": [{\"type\": \"sql\" | \"regex\" | \"majority\" | \"judge\" | ..., \"weight\": 1}]}.", Required = true,
        };
        var model = new Option<string?>("--model") { Description = "Model folder (config.json, safetensors, tokenizer). Default: the project's base model (built on first use)." };
        var output = new Option<string>("--out")
        {
            Description = "Output folder: metrics.jsonl, state.json (resumes when rerun), best/. Default: .tao/runs/<time>.",
            DefaultValueFactory = _ => Path.Combine(".tao", "runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")),
        };
        var objective = new Option<TaoObjective>("--objective") { Description = "BestOfN (default), Grpo, DrGrpo or Dpo.", DefaultValueFactory = _ => TaoObjective.BestOfN };
        var candidates = new Option<int>("--candidates") { Description = "Candidates per prompt. Default: 8.", DefaultValueFactory = _ => 8 };
        var iterations = new Option<int>("--iterations") { Description = "Generate-score-train iterations. Default: 4.", DefaultValueFactory = _ => 4 };
        var learningRate = new Option<double>("--lr") { Description = "Learning rate. Default: 3e-4.", DefaultValueFactory = _ => 3e-4 };
        var kl = new Option<double>("--kl") { Description = "KL penalty to the starting model (GRPO). Default: 0.", DefaultValueFactory = _ => 0 };
        var loraRank = new Option<int>("--lora-rank") { Description = "Train LoRA adapters of this rank instead of all weights (0 = full). Default: 0.", DefaultValueFactory = _ => 0 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per candidate. Default: 48.", DefaultValueFactory = _ => 48 };
        var temperature = new Option<double>("--temperature") { Description = "Sampling temperature. Default: 1.0.", DefaultValueFactory = _ => 1.0 };
        var endpoint = new Option<string?>("--endpoint") { Description = "Sample candidates from this OpenAI-compatible endpoint (e.g. vLLM through the gateway) instead of the local model." };
        var endpointModel = new Option<string?>("--endpoint-model") { Description = "Model name at --endpoint." };
        var data = CommonOptions.Data();
        var command = new Command("train",
            "Run one TAO round: sample candidates for each prompt, score them with the configured label-free scorers, train toward the " +
            "better ones, and keep the best iteration (full checkpoint, or PEFT adapters with --lora-rank). Interrupted runs resume from " +
            "their last completed iteration. Environment: TAO_DATA_DIR (embedded store for the sql scorer), TAO_CLICKHOUSE_URL, TAO_JUDGE_API_KEY.")
        {
            prompts, scorer, model, output, objective, candidates, iterations, learningRate, kl, loraRank, maxTokens, temperature, endpoint, endpointModel, data,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var configuration = TaoConfiguration.Build(result.GetValue(data), []);
            await using var store = await ClickHouseStore.OpenAsync(
                configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new ClickHouseOptions(), cancellationToken);
            var demo = new SqlTaskFamily(store);
            await demo.PrepareAsync(cancellationToken); // the example shop database the sql scorer's examples run against
            var modelFolder = result.GetValue(model) ?? (await BaseModelBuilder.EnsureAsync(Path.GetFullPath(Path.Combine(".tao", "models")), new BaseModelRecipe(),
                store, Console.WriteLine, cancellationToken)).Folder;
            var tokenizer = TextTokenizer.Load(modelFolder);
            using var policy = ModelCheckpoint.Load(modelFolder);
            var taskPrompts = ReadPrompts(result.GetValue(prompts)!);
            var scorers = ScorerFactory.FromFile(result.GetValue(scorer)!, new ScorerFactory.Services(store, tokenizer));
            var options = new TaoRoundOptions
            {
                Objective = result.GetValue(objective),
                Candidates = result.GetValue(candidates),
                Iterations = result.GetValue(iterations),
                LearningRate = result.GetValue(learningRate),
                KlBeta = result.GetValue(kl),
                Lora = result.GetValue(loraRank) > 0 ? new LoraOptions { Rank = result.GetValue(loraRank), Alpha = 2 * result.GetValue(loraRank) } : null,
                BatchSize = 16,
                Generation = new GenerationOptions { MaxNewTokens = result.GetValue(maxTokens), Temperature = result.GetValue(temperature) },
            };
            ICandidateSource? source = result.GetValue(endpoint) is { } url
                ? new OpenAiCandidateSource(new Uri(url), result.GetValue(endpointModel) ?? "default", Environment.GetEnvironmentVariable("TAO_API_KEY") ?? "none")
                : null;
            var folder = Path.GetFullPath(result.GetValue(output)!);
            Console.WriteLine($"TAO round: {taskPrompts.Count} prompts, {options.Candidates} candidates each, {options.Iterations} iterations, {options.Objective}, scorer {scorers.Name}");
            TaoRoundResult? outcome = null;
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    void Report(RoundProgress p)
                    {
                        var key = $"iteration {p.Iteration}/{p.Iterations}: {p.Stage}";
                        if (!tasks.TryGetValue(key, out var task))
                        {
                            tasks[key] = task = context.AddTask(key, maxValue: Math.Max(1, p.Total));
                        }

                        task.Value = p.Done;
                    }

                    var round = new TaoRound(policy, tokenizer, scorers, options, source, folder, Report);
                    outcome = await round.RunAsync(taskPrompts, heldOut: null, cancellationToken);
                    foreach (var task in tasks.Values)
                    {
                        task.Value = task.MaxValue;
                    }
                });
            foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "tokenizer.model" }.Where(f => File.Exists(Path.Combine(modelFolder, f))))
            {
                File.Copy(Path.Combine(modelFolder, file), Path.Combine(folder, "best", file), overwrite: true);
            }

            var rewards = outcome!.Metrics.Where(m => m.Event == "iteration").Select(m => $"{m.RewardMean:0.000}");
            Console.WriteLine($"reward by iteration: {string.Join(" → ", rewards)}; {outcome.StopReason}");
            Console.WriteLine($"kept: {Path.Combine(folder, "best")}; metrics: {Path.Combine(folder, "metrics.jsonl")}");
            return 0;
        });
        return command;
    }

    internal static List<TaskPrompt> ReadPrompts(string path)
    {
        var prompts = new List<TaskPrompt>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var messages = root.TryGetProperty("messages", out var list)
                ? list.EnumerateArray().Select(m => new ChatMessage(m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList()
                : [new ChatMessage("user", root.GetProperty("prompt").GetString()!)];
            var context = root.TryGetProperty("context", out var c) && c.ValueKind == JsonValueKind.Object
                ? c.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ToString())
                : null;
            prompts.Add(new TaskPrompt(root.TryGetProperty("id", out var id) ? id.ToString() : $"line-{number}", messages, context));
        }

        return prompts;
    }
}
