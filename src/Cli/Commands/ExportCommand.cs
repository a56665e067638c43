using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Tao.Capture.Export;
using Tao.Hosting;
using Tao.Storage;

namespace Tao.Cli.Commands;

/// <summary>
/// tao export: captured traffic as a dataset trainers read — OpenAI chat fine-tuning JSONL, Hugging Face chat JSONL,
/// preference pairs for DPO, or Parquet — with a manifest (filters, counts, schema version, SHA-256) beside it.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var format = new Option<string?>("--format", "-f")
        {
            Description = "openai-chat (default), hf-chat, preferences or parquet; with --round: candidates (default), sft or preferences.",
        };
        var round = new Option<string?>("--round")
        {
            Description = "Export a flywheel round's artefacts instead of captured calls: every scored candidate group, its final training targets, or pairs.",
        };
        var output = new Option<string>("--out", "-o") { Description = "File to write; NAME.manifest.json is written beside it.", Required = true };
        var window = new Option<string?>("--window", "-w") { Description = "Only calls of the last 1h, 24h, 7d, 30d or 90d. Default: all." };
        var from = new Option<string?>("--from") { Description = "Only calls from this time (ISO 8601, UTC unless an offset is given)." };
        var to = new Option<string?>("--to") { Description = "Only calls before this time." };
        var task = new Option<string?>("--task") { Description = "Only this task." };
        var model = new Option<string?>("--model") { Description = "Only this model." };
        var version = new Option<string?>("--version") { Description = "Only this model version." };
        var key = new Option<string?>("--key") { Description = "Only calls made with this API key id." };
        var metric = new Option<string?>("--metric") { Description = "A feedback metric: with --min, only calls rated at least that; for preferences, the metric that ranks answers." };
        var min = new Option<double?>("--min") { Description = "Threshold for --metric (e.g. 1 for thumbs up)." };
        var heldOut = new Option<bool>("--include-held-out") { Description = "Also export prompts the flywheel holds out for evaluation (they are left out by default)." };
        var noDemonstrations = new Option<bool>("--no-demonstrations") { Description = "Use captured answers even where feedback gave a demonstration." };
        var limit = new Option<int?>("--limit", "-n") { Description = "At most this many lines or rows." };
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var command = new Command("export",
            "Write captured calls as a training dataset: one answered chat call per prompt (the newest), held-out prompts left out, demonstrations " +
            "preferred to answers, text as redacted at capture; a manifest with the filters, counts and SHA-256 beside it. " + TaoConfiguration.EnvironmentHelp)
        {
            format, output, window, from, to, task, model, version, key, metric, min, heldOut, noDemonstrations, limit, round, data, config,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(round) is { } roundId)
            {
                return await ExportRoundAsync(roundId, result.GetValue(format) ?? "candidates", result.GetValue(output)!,
                    TaoConfiguration.Build(result.GetValue(data), result.GetValue(config) ?? []), cancellationToken);
            }

            if (DatasetExporter.Parse(result.GetValue(format) ?? "openai-chat") is not { } parsed)
            {
                Console.Error.WriteLine("--format is openai-chat, hf-chat, preferences or parquet.");
                return 2;
            }

            var start = Time(result.GetValue(from));
            if (result.GetValue(window) is { } w)
            {
                if (Window(w) is not { } span)
                {
                    Console.Error.WriteLine("--window is 1h, 24h, 7d, 30d or 90d.");
                    return 2;
                }

                start = DateTimeOffset.UtcNow - span;
            }

            var request = new ExportRequest
            {
                Format = parsed, From = start, To = Time(result.GetValue(to)), Task = result.GetValue(task), Model = result.GetValue(model),
                Version = result.GetValue(version), Key = result.GetValue(key), Metric = result.GetValue(metric), MinValue = result.GetValue(min),
                IncludeHeldOut = result.GetValue(heldOut), PreferDemonstrations = !result.GetValue(noDemonstrations), Limit = result.GetValue(limit),
            };
            if (request.MinValue is not null && request.Metric is null)
            {
                Console.Error.WriteLine("--min needs --metric.");
                return 2;
            }

            var configuration = TaoConfiguration.Build(result.GetValue(data), result.GetValue(config) ?? []);
            var storeOptions = configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new();
            if (storeOptions.IsEmbedded && !Directory.Exists(storeOptions.EmbeddedPath))
            {
                Console.Error.WriteLine($"No embedded store at {storeOptions.EmbeddedPath}; run ./tao up first, or pass --data.");
                return 1;
            }

            var path = Path.GetFullPath(result.GetValue(output)!);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            ExportManifest manifest;
            await using (var store = await ClickHouseStore.OpenAsync(storeOptions, cancellationToken))
            {
                await new Storage.Schema.SchemaMigrator(store).MigrateAsync(cancellationToken);
                await using var file = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write);
                manifest = await new DatasetExporter(store).WriteAsync(request, file, cancellationToken);
            }

            File.Move(path + ".tmp", path, overwrite: true);
            await File.WriteAllTextAsync(path + ".manifest.json", JsonSerializer.Serialize(manifest, ManifestJson), cancellationToken);
            Console.WriteLine($"{DatasetExporter.Name(parsed)}: {string.Join(", ", manifest.Counts.Select(c => $"{c.Key} {c.Value.ToString(CultureInfo.InvariantCulture)}"))}");
            Console.WriteLine($"wrote {path} ({manifest.Bytes.ToString("#,0", CultureInfo.InvariantCulture)} bytes, sha256 {manifest.Sha256}) and its manifest");
            return 0;
        });
        return command;
    }

    /// <summary>tao export --round: a round's artefacts from its folder under the flywheel's work path, with the same manifest.</summary>
    private static async Task<int> ExportRoundAsync(string roundId, string format, string output, IConfiguration configuration, CancellationToken cancellationToken)
    {
        if (!Trainer.Training.RoundArtefacts.Formats.Contains(format))
        {
            Console.Error.WriteLine($"With --round, --format is {string.Join(", ", Trainer.Training.RoundArtefacts.Formats)}.");
            return 2;
        }

        var work = configuration.GetSection(Flywheel.FlywheelOptions.Section).Get<Flywheel.FlywheelOptions>()?.WorkPath ?? new Flywheel.FlywheelOptions().WorkPath;
        if (Trainer.Training.RoundArtefacts.Folder(work, roundId) is not { } folder)
        {
            Console.Error.WriteLine($"No round '{roundId}' with artefacts under {Path.GetFullPath(Path.Combine(work, "rounds"))} (tao flywheel history lists the rounds).");
            return 1;
        }

        var path = Path.GetFullPath(output);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SortedDictionary<string, long> counts;
        await using (var file = new FileStream(path + ".tmp", FileMode.Create, FileAccess.Write))
        {
            counts = Trainer.Training.RoundArtefacts.Write(folder, format, file);
        }

        File.Move(path + ".tmp", path, overwrite: true);
        var bytes = await File.ReadAllBytesAsync(path, cancellationToken);
        counts["lines"] = bytes.Count(b => b == (byte)'\n');
        var manifest = new ExportManifest(DatasetExporter.SchemaVersion, "round-" + format, new Dictionary<string, string> { ["round"] = roundId }, counts,
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), bytes.LongLength, DateTime.UtcNow);
        await File.WriteAllTextAsync(path + ".manifest.json", JsonSerializer.Serialize(manifest, ManifestJson), cancellationToken);
        Console.WriteLine($"round {roundId} {format}: {string.Join(", ", counts.Select(c => $"{c.Key} {c.Value.ToString(CultureInfo.InvariantCulture)}"))}");
        Console.WriteLine($"wrote {path} ({bytes.LongLength.ToString("#,0", CultureInfo.InvariantCulture)} bytes, sha256 {manifest.Sha256}) and its manifest");
        return 0;
    }

    internal static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static DateTimeOffset? Time(string? text) =>
        text is null ? null
        : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed) ? parsed
        : throw new FormatException($"'{text}' is not a time (ISO 8601).");

    private static TimeSpan? Window(string text) => text switch
    {
        "1h" => TimeSpan.FromHours(1), "24h" => TimeSpan.FromHours(24), "7d" => TimeSpan.FromDays(7), "30d" => TimeSpan.FromDays(30), "90d" => TimeSpan.FromDays(90),
        _ => null,
    };
}
