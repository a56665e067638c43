using System.Text.Json;

namespace Tao.Gateway.Capture;

/// <summary>Reads the fields the capture keeps from one OpenAI JSON object: a whole response or one stream chunk.</summary>
internal static class ChunkParser
{
    public static void Apply(JsonElement root, ResponseSummary summary, int cap)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            summary.ErrorType = StringOf(error, "type") ?? StringOf(error, "code") ?? "error";
            summary.ErrorMessage = StringOf(error, "message") ?? string.Empty;
            return;
        }

        if (StringOf(root, "model") is { Length: > 0 } model)
        {
            summary.ServedModel = model;
        }

        if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array)
        {
            var position = 0;
            foreach (var choice in choices.EnumerateArray())
            {
                if (choice.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                var index = choice.TryGetProperty("index", out var i) && i.TryGetInt32(out var n) ? n : position;
                position++;
                if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                {
                    summary.Append(index, StringOf(delta, "content"), cap);
                }
                else if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
                {
                    summary.Append(index, StringOf(message, "content"), cap);
                }
                else
                {
                    summary.Append(index, StringOf(choice, "text"), cap);
                }

                if (index == 0 && StringOf(choice, "finish_reason") is { Length: > 0 } finish)
                {
                    summary.FinishReason = finish;
                }
            }
        }

        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            if (usage.TryGetProperty("prompt_tokens", out var prompt) && prompt.TryGetInt32(out var p))
            {
                summary.PromptTokens = p;
            }

            if (usage.TryGetProperty("completion_tokens", out var completion) && completion.TryGetInt32(out var c))
            {
                summary.CompletionTokens = c;
            }
            else if (summary.PromptTokens is not null)
            {
                summary.CompletionTokens = 0; // embeddings report prompt and total only
            }
        }
    }

    private static string? StringOf(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? Tao.Capture.PromptText.Text(value) : null;
}
