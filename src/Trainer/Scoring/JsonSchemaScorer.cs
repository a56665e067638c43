using System.Text.Json;
using Json.Schema;

namespace Tao.Trainer.Scoring;

/// <summary>A verifier for structured output: 1 when the candidate is JSON that satisfies the schema.</summary>
internal sealed class JsonSchemaScorer(string schemaJson) : IVerifier
{
    private readonly JsonSchema _schema = JsonSchema.FromText(schemaJson);

    public string Name => "json_schema";

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken) =>
        Task.FromResult(group.Candidates.Select(Score).ToArray());

    private double Score(string candidate)
    {
        try
        {
            using var document = JsonDocument.Parse(candidate.Trim());
            return _schema.Evaluate(document.RootElement).IsValid ? 1 : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }
}
