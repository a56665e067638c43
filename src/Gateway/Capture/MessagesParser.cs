using System.Text.Json;
using static Tao.Gateway.Capture.ChunkParser;

namespace Tao.Gateway.Capture;

/// <summary>
/// Reads Anthropic's Messages API: a whole message, or its stream (message_start with the input usage, content blocks
/// of text and tool use built from deltas, message_delta with the stop reason and output usage, message_stop).
/// </summary>
internal static class MessagesParser
{
    /// <summary>A non-streamed answer: the message.</summary>
    public static void ApplyBody(JsonElement root, ResponseSummary summary, int cap)
    {
        if (root.ValueKind != JsonValueKind.Object || ApplyError(root, summary))
        {
            return;
        }

        ApplyMessage(root, summary);
        if (root.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var block in content.EnumerateArray())
            {
                switch (StringOf(block, "type"))
                {
                    case "text":
                        summary.Append(0, StringOf(block, "text"), cap);
                        break;
                    case "tool_use":
                        var input = block.TryGetProperty("input", out var i) ? i.GetRawText() : null;
                        summary.ToolCall(index, StringOf(block, "id"), StringOf(block, "name"), input, cap, replace: true);
                        break;
                }

                index++;
            }
        }

        ApplyStop(root, summary);
    }

    /// <summary>One stream event; true when it ends the message.</summary>
    public static bool ApplyEvent(JsonElement data, ResponseSummary summary, int cap)
    {
        switch (StringOf(data, "type"))
        {
            case "message_start":
                ApplyMessage(ObjectOf(data, "message"), summary);
                return false;
            case "content_block_start":
                var block = ObjectOf(data, "content_block");
                var start = IntOf(data, "index") ?? 0;
                if (StringOf(block, "type") == "text")
                {
                    summary.Append(0, StringOf(block, "text"), cap);
                }
                else if (StringOf(block, "type") == "tool_use")
                {
                    summary.ToolCall(start, StringOf(block, "id"), StringOf(block, "name"), null, cap);
                }

                return false;
            case "content_block_delta":
                var delta = ObjectOf(data, "delta");
                switch (StringOf(delta, "type"))
                {
                    case "text_delta":
                        summary.Append(0, StringOf(delta, "text"), cap);
                        break;
                    case "input_json_delta":
                        summary.ToolCall(IntOf(data, "index") ?? 0, null, null, StringOf(delta, "partial_json"), cap);
                        break;
                }

                return false;
            case "message_delta":
                ApplyStop(ObjectOf(data, "delta"), summary);
                ApplyUsage(ObjectOf(data, "usage"), summary);
                return false;
            case "message_stop":
                summary.Done = true;
                return true;
            case "error":
                ApplyError(data, summary);
                return false;
            default:
                return false;
        }
    }

    private static void ApplyMessage(JsonElement message, ResponseSummary summary)
    {
        if (StringOf(message, "model") is { Length: > 0 } model)
        {
            summary.ServedModel = model;
        }

        ApplyUsage(ObjectOf(message, "usage"), summary);
    }

    /// <summary>Anthropic counts cached input apart from input_tokens; the prompt is all three.</summary>
    private static void ApplyUsage(JsonElement usage, ResponseSummary summary)
    {
        if (IntOf(usage, "input_tokens") is { } input)
        {
            summary.PromptTokens = input + (IntOf(usage, "cache_creation_input_tokens") ?? 0) + (IntOf(usage, "cache_read_input_tokens") ?? 0);
        }

        if (IntOf(usage, "output_tokens") is { } output)
        {
            summary.CompletionTokens = output;
        }
    }

    /// <summary>Anthropic's stop reason in Chat Completions' words.</summary>
    private static void ApplyStop(JsonElement holder, ResponseSummary summary)
    {
        if (StringOf(holder, "stop_reason") is { Length: > 0 } reason)
        {
            summary.FinishReason = reason switch
            {
                "end_turn" or "stop_sequence" => "stop",
                "max_tokens" or "model_context_window_exceeded" => "length",
                "tool_use" => "tool_calls",
                "refusal" => "content_filter",
                _ => reason,
            };
        }
    }
}
