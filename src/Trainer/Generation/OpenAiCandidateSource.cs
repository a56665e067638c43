using System.ClientModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;

namespace Tao.Trainer.Generation;

/// <summary>
/// Candidates from an OpenAI-compatible endpoint (the gateway, vLLM, ...): one request per prompt asking for n choices,
/// topped up with single requests when a server returns fewer (some ignore n).
/// </summary>
public sealed class OpenAiCandidateSource(ChatClient client, string model, bool useN = true, int maxConcurrency = 8) : ICandidateSource
{
    public OpenAiCandidateSource(Uri endpoint, string model, string apiKey, bool useN = true)
        : this(new ChatClient(model, new ApiKeyCredential(apiKey), new OpenAIClientOptions { Endpoint = endpoint }), model, useN)
    {
    }

    public async Task<IReadOnlyList<IReadOnlyList<Candidate>>> GenerateAsync(
        IReadOnlyList<TaskPrompt> prompts, int perPrompt, GenerationOptions options, CancellationToken cancellationToken)
    {
        using var gate = new SemaphoreSlim(maxConcurrency);
        return await Task.WhenAll(prompts.Select(async prompt =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                return await ForPromptAsync(prompt, perPrompt, options, cancellationToken);
            }
            finally
            {
                gate.Release();
            }
        }));
    }

    private async Task<IReadOnlyList<Candidate>> ForPromptAsync(TaskPrompt prompt, int perPrompt, GenerationOptions options, CancellationToken cancellationToken)
    {
        var candidates = new List<Candidate>();
        while (candidates.Count < perPrompt)
        {
            var wanted = useN ? perPrompt - candidates.Count : 1;
            var body = new JsonObject
            {
                ["model"] = model,
                ["messages"] = new JsonArray(prompt.Messages.Select(m => (JsonNode?)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray()),
                ["n"] = wanted,
                ["temperature"] = options.Temperature,
                ["top_p"] = options.TopP,
                ["max_tokens"] = options.MaxNewTokens,
            };
            if (options.Stop.Count > 0)
            {
                body["stop"] = new JsonArray(options.Stop.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
            }

            var result = await client.CompleteChatAsync(BinaryContent.Create(BinaryData.FromString(body.ToJsonString())),
                new System.ClientModel.Primitives.RequestOptions { CancellationToken = cancellationToken });
            using var document = JsonDocument.Parse(result.GetRawResponse().Content);
            var choices = document.RootElement.GetProperty("choices").EnumerateArray()
                .Select(c => c.GetProperty("message").TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString()! : string.Empty)
                .Take(perPrompt - candidates.Count)
                .ToList();
            if (choices.Count == 0)
            {
                throw new InvalidOperationException("the endpoint returned no choices");
            }

            candidates.AddRange(choices.Select(c => new Candidate(c.Trim())));
        }

        return candidates;
    }
}
