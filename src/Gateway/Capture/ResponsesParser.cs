using System.Text.Json;
using static Tao.Gateway.Capture.ChunkParser;

namespace Tao.Gateway.Capture;

/// <summary>
/// Reads the OpenAI Responses API: a whole response object, or its typed stream events (text deltas, function-call
/// items and argument deltas, and the closing response.completed / incomplete / failed that carries usage).
/// </summary>
internal static class ResponsesParser
{
    /// <summary>A non-streamed answer: the response object.</summary>
    public static void ApplyBody(JsonElement root, ResponseSummary summary, int cap)
    {
        if (root.ValueKind == JsonValueKind.Object && !ApplyError(root, summary))
        {
            ApplyResponse(root, summary, cap);
        }
    }

    /// <summary>One stream event; true when it ends the response.</summary>
    public static bool ApplyEvent(JsonElement data, ResponseSummary summary, int cap)
    {
        switch (StringOf(data, "type"))
        {
            case "response.created" or "response.in_progress" or "response.queued":
                if (StringOf(ObjectOf(data, "response"), "model") is { Length: > 0 } model)
                {
                    summary.ServedModel = model;
                }

                return false;
            case "response.output_text.delta":
                summary.Append(0, StringOf(data, "delta"), cap);
                return false;
            case "response.output_item.added" or "response.output_item.done":
                var item = ObjectOf(data, "item");
                if (IsToolCall(item) && IntOf(data, "output_index") is { } added)
                {
                    summary.ToolCall(added, StringOf(item, "call_id"), StringOf(item, "name"), Arguments(item), cap, replace: true);
                }

                return false;
            case "response.function_call_arguments.delta" or "response.custom_tool_call_input.delta":
                if (IntOf(data, "output_index") is { } index)
                {
                    summary.ToolCall(index, null, null, StringOf(data, "delta"), cap);
                }

                return false;
            case "response.completed" or "response.incomplete" or "response.failed":
                ApplyResponse(ObjectOf(data, "response"), summary, cap, streamed: true);
                summary.Done = true;
                return true;
            case "error":
                summary.ErrorType = StringOf(data, "code") ?? StringOf(data, "type") ?? "error";
                summary.ErrorMessage = StringOf(data, "message") ?? string.Empty;
                return false;
            default:
                return false;
        }
    }

    /// <summary>
    /// The response object: model, status (as a Chat finish reason), usage, and — when not streamed, or when a stream
    /// sent no deltas — the answer's text and tool calls from its output items.
    /// </summary>
    private static void ApplyResponse(JsonElement response, ResponseSummary summary, int cap, bool streamed = false)
    {
        if (response.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (StringOf(response, "model") is { Length: > 0 } model)
        {
            summary.ServedModel = model;
        }

        var text = !streamed || summary.Length == 0;
        var calls = !streamed || !summary.HasToolCalls;
        if (response.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.Array)
        {
            var position = 0;
            foreach (var item in output.EnumerateArray())
            {
                if (text && StringOf(item, "type") == "message" && item.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in content.EnumerateArray())
                    {
                        if (StringOf(part, "type") == "output_text")
                        {
                            summary.Append(0, StringOf(part, "text"), cap);
                        }
                    }
                }
                else if (calls && IsToolCall(item))
                {
                    summary.ToolCall(position, StringOf(item, "call_id"), StringOf(item, "name"), Arguments(item), cap, replace: true);
                }

                position++;
            }
        }

        switch (StringOf(response, "status"))
        {
            case "completed":
                summary.FinishReason = summary.HasToolCalls ? "tool_calls" : "stop";
                break;
            case "incomplete":
                summary.FinishReason = StringOf(ObjectOf(response, "incomplete_details"), "reason") switch
                {
                    "max_output_tokens" => "length",
                    { } reason => reason,
                    null => "incomplete",
                };
                break;
            case "failed" when ObjectOf(response, "error") is { ValueKind: JsonValueKind.Object } error:
                summary.ErrorType = StringOf(error, "code") ?? StringOf(error, "type") ?? "response_failed";
                summary.ErrorMessage = StringOf(error, "message") ?? string.Empty;
                break;
        }

        var usage = ObjectOf(response, "usage");
        if (IntOf(usage, "input_tokens") is { } input)
        {
            summary.PromptTokens = input;
        }

        if (IntOf(usage, "output_tokens") is { } outputTokens)
        {
            summary.CompletionTokens = outputTokens;
        }
    }

    private static bool IsToolCall(JsonElement item) => StringOf(item, "type") is "function_call" or "custom_tool_call";

    private static string? Arguments(JsonElement item) => StringOf(item, "arguments") ?? StringOf(item, "input");
}
