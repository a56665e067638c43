using System.Text.Json;
using Tao.Storage;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Scoring;

/// <summary>
/// Builds a scorer from a configuration (JSON): {"scorers": [{"type": "...", "weight": 1, "required": false, ...}, ...]}.
/// A required part gates: a candidate scoring below its "min" (default 1) scores 0. Types: sql, sql_grounding, sql_value_coverage, regex,
/// json_schema, substring, majority, field_format, equation, unit_conversion, judge, reward_model, command.
/// </summary>
public static class ScorerFactory
{
    public sealed record Services(ClickHouseStore? Store = null, TextTokenizer? Tokenizer = null);

    public static IScorer FromFile(string path, Services services) => FromJson(File.ReadAllText(path), services);

    public static IScorer FromJson(string json, Services services)
    {
        using var document = JsonDocument.Parse(json);
        var list = document.RootElement.ValueKind == JsonValueKind.Array ? document.RootElement
            : document.RootElement.TryGetProperty("scorers", out var scorers) ? scorers
            : throw new ArgumentException("a scorer configuration is a list, or an object with a \"scorers\" list");
        var parts = list.EnumerateArray().Select(e => new CompositeScorer.Part(Create(e, services), Number(e, "weight", 1.0),
            e.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.True, Number(e, "min", 1.0))).ToList();
        return parts.Count == 0 ? throw new ArgumentException("the scorer configuration names no scorer")
            : parts.Count == 1 && !parts[0].Required ? parts[0].Scorer
            : new CompositeScorer(parts);
    }

    private static IScorer Create(JsonElement e, Services services)
    {
        var type = Text(e, "type") ?? throw new ArgumentException("every scorer needs a \"type\"");
        return type switch
        {
            "sql" => new SqlExecutionScorer(services.Store ?? throw new ArgumentException("the sql scorer needs a ClickHouse store"),
                Number(e, "run_weight", 0.3), Number(e, "agreement_weight", 0.7)),
            "sql_grounding" => new SqlGroundingScorer(),
            "sql_value_coverage" => new SqlValueCoverageScorer(services.Store ?? throw new ArgumentException("the sql_value_coverage scorer needs a ClickHouse store")),
            "equation" => new EquationScorer(),
            "unit_conversion" => new UnitConversionScorer(),
            "regex" => new RegexScorer(Required(e, "pattern"), !e.TryGetProperty("must_match", out var m) || m.GetBoolean()),
            "json_schema" => new JsonSchemaScorer(e.TryGetProperty("schema", out var schema) ? schema.GetRawText() : throw new ArgumentException("json_schema needs \"schema\"")),
            "substring" => new SubstringScorer(Text(e, "context") ?? "document"),
            "majority" => new MajorityVoteScorer(Text(e, "answer_pattern")),
            "field_format" => new FieldFormatScorer(e.GetProperty("rules").EnumerateArray()
                .Select(r => (Required(r, "question"), Required(r, "answer"))).ToList()),
            "judge" => new LlmJudgeScorer(new Uri(Required(e, "endpoint")), Required(e, "model"),
                Text(e, "api_key") ?? (Text(e, "api_key_env") is { } env ? Environment.GetEnvironmentVariable(env) : null) ?? "none",
                Required(e, "rubric")),
            "reward_model" => new RewardModelScorer(RewardModelCheckpoint.Load(Required(e, "path")),
                services.Tokenizer ?? TextTokenizer.Load(Required(e, "path"))),
            "command" => new CommandScorer(Required(e, "command"),
                e.TryGetProperty("args", out var args) ? args.EnumerateArray().Select(a => a.GetString()!).ToList() : [],
                TimeSpan.FromSeconds(Number(e, "timeout_seconds", 30))),
            _ => throw new ArgumentException($"unknown scorer type '{type}'"),
        };
    }

    private static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string Required(JsonElement e, string name) => Text(e, name) ?? throw new ArgumentException($"scorer needs \"{name}\"");

    private static double Number(JsonElement e, string name, double fallback) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;
}
