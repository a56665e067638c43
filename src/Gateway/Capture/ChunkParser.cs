using System.Text.Json;

namespace Tao.Gateway.Capture;

/// <summary>
/// Reads the fields the capture keeps from one Chat Completions or Completions JSON object (a whole response or one
/// stream chunk), and the error object every surface answers failures with.
/// </summary>
internal static class ChunkParser
{
    public static void Apply(JsonElement root, ResponseSummary summary, int cap)
    {
        if (root.ValueKind != JsonValueKind.Object || ApplyError(root, summary))
        {
            return;
        }

        if (StringOf(root, "model") is { Length: > 0 } model)
        {
            summary.ServedModel = model;
        }

        if (root.TryGetProperty("prompt_token_ids", out var promptIds) && promptIds.ValueKind == JsonValueKind.Array && summary.PromptTokenIds.Count == 0)
        {
            summary.AddTokenIds(promptIds, prompt: true);
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

                var index = IntOf(choice, "index") ?? position;
                position++;
                if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                {
                    summary.Append(index, StringOf(delta, "content"), cap);
                    ApplyToolCalls(index, delta, summary, cap);
                    ApplyExtras(index, delta, choice, summary, cap);
                }
                else if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
                {
                    summary.Append(index, StringOf(message, "content"), cap);
                    ApplyToolCalls(index, message, summary, cap);
                    ApplyExtras(index, message, choice, summary, cap);
                }
                else
                {
                    summary.Append(index, StringOf(choice, "text"), cap);
                }

                if (index == 0 && StringOf(choice, "finish_reason") is { Length: > 0 } finish)
                {
                    summary.FinishReason = finish;
                }

                if (index == 0 && choice.TryGetProperty("token_ids", out var tokenIds) && tokenIds.ValueKind == JsonValueKind.Array)
                {
                    summary.AddTokenIds(tokenIds, prompt: false); // vLLM's return_token_ids: whole on a message, in pieces on stream chunks
                }
            }
        }

        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            if (IntOf(usage, "prompt_tokens") is { } p)
            {
                summary.PromptTokens = p;
            }

            if (IntOf(usage, "completion_tokens") is { } c)
            {
                summary.CompletionTokens = c;
            }
            else if (summary.PromptTokens is not null)
            {
                summary.CompletionTokens = 0; // embeddings report prompt and total only
            }
        }
    }

    /// <summary>
    /// An error object ({"error":{"type" or "code","message"}}, OpenAI's and Anthropic's alike) goes into the summary.
    /// True when there was one.
    /// </summary>
    public static bool ApplyError(JsonElement root, ResponseSummary summary)
    {
        if (!root.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
        {
            return false;
        }

        summary.ErrorType = StringOf(error, "type") ?? StringOf(error, "code") ?? "error";
        summary.ErrorMessage = StringOf(error, "message") ?? string.Empty;
        return true;
    }

    /// <summary>
    /// The first choice's reasoning (reasoning_content, as vLLM and DeepSeek send it, or reasoning), refusal, and the
    /// sampled tokens' log-probabilities (choice.logprobs.content[].token/logprob) when the caller asked for them.
    /// </summary>
    private static void ApplyExtras(int index, JsonElement message, JsonElement choice, ResponseSummary summary, int cap)
    {
        if (index != 0)
        {
            return;
        }

        summary.AppendReasoning(StringOf(message, "reasoning_content") ?? StringOf(message, "reasoning"), cap);
        summary.AppendRefusal(StringOf(message, "refusal"), cap);
        if (choice.TryGetProperty("logprobs", out var logprobs) && logprobs.ValueKind == JsonValueKind.Object
            && logprobs.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in content.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && StringOf(item, "token") is { } token
                    && item.TryGetProperty("logprob", out var value) && value.TryGetDouble(out var logProb))
                {
                    summary.AddLogProb(token, logProb);
                }
            }
        }
    }

    /// <summary>The tool calls of the first choice: whole on a message, in pieces (keyed by their index) on stream deltas.</summary>
    private static void ApplyToolCalls(int choice, JsonElement message, ResponseSummary summary, int cap)
    {
        if (choice != 0 || !message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        var position = 0;
        foreach (var call in calls.EnumerateArray())
        {
            if (call.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var key = IntOf(call, "index") ?? position;
            position++;
            var function = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
            summary.ToolCall(key, StringOf(call, "id"), function.ValueKind == JsonValueKind.Object ? StringOf(function, "name") : null,
                function.ValueKind == JsonValueKind.Object ? StringOf(function, "arguments") : null, cap);
        }
    }

    public static string? StringOf(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? Tao.Capture.PromptText.Text(value)
            : null;

    /// <summary>A whole-number property, or null (also when the upstream sent it as anything else: capture never throws on a body).</summary>
    public static int? IntOf(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) ? n : null;

    public static JsonElement ObjectOf(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : default;
}
