using System.Text;
using System.Text.Json;

namespace Tao.Capture;

/// <summary>
/// The prompt of a request as plain text, and its normalised hash. The flywheel counts distinct inputs by the
/// hash and trains on the text, so both are computed the same way everywhere.
/// </summary>
public static class PromptText
{
    /// <summary>
    /// A JSON string's value. JSON may escape a lone surrogate ("\ud800"), which is no Unicode text; such a string is
    /// kept in its escaped form rather than failing the capture of the call.
    /// </summary>
    public static string Text(JsonElement element)
    {
        try
        {
            return element.GetString() ?? string.Empty;
        }
        catch (InvalidOperationException)
        {
            var raw = element.GetRawText();
            return raw.Length >= 2 ? raw[1..^1] : raw;
        }
    }

    /// <summary>Chat: "role: content" per message; completions: the prompt; embeddings: the input.</summary>
    public static string Extract(JsonElement root)
    {
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            return Render(ChatTurns(messages));
        }

        var text = new StringBuilder();
        foreach (var name in (ReadOnlySpan<string>)["prompt", "input"])
        {
            if (root.TryGetProperty(name, out var value))
            {
                AppendContent(text, value);
                break;
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// The prompt of a call on any surface (<see cref="ApiSurfaces"/>). Responses and Messages requests are first
    /// turned into the conversation Chat Completions would carry, so the same conversation has the same prompt text and
    /// hash whichever API sent it: the Responses API's instructions and Anthropic's system prompt are a system turn, a
    /// string input a user turn, function calls and tool-use blocks an assistant turn, their outputs tool turns.
    /// </summary>
    public static string Extract(JsonElement root, string endpoint) => endpoint switch
    {
        ApiSurfaces.Responses or ApiSurfaces.Messages => Render(Conversation(root, endpoint)),
        _ => Extract(root),
    };

    /// <summary>The request as chat turns (role, text), for every conversational surface; other surfaces give their prompt as one user turn.</summary>
    public static IReadOnlyList<PromptTurn> Conversation(JsonElement root, string endpoint)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return [];
        }

        switch (ApiSurfaces.Normalise(endpoint))
        {
            case ApiSurfaces.Responses:
                return ResponsesTurns(root);
            case ApiSurfaces.Messages:
                return MessagesTurns(root);
            default:
                if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
                {
                    return ChatTurns(messages);
                }

                var prompt = Extract(root);
                return prompt.Length == 0 ? [] : [new PromptTurn("user", prompt)];
        }
    }

    private static string Render(IReadOnlyList<PromptTurn> turns)
    {
        var text = new StringBuilder();
        foreach (var turn in turns)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }

            text.Append(turn.Role).Append(": ").Append(turn.Content);
        }

        return text.ToString();
    }

    private static List<PromptTurn> ChatTurns(JsonElement messages)
    {
        var turns = new List<PromptTurn>();
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? Text(r) : "user";
            var content = new StringBuilder();
            if (message.TryGetProperty("content", out var c))
            {
                AppendContent(content, c);
            }

            turns.Add(new PromptTurn(role, content.ToString()));
        }

        return turns;
    }

    /// <summary>Responses API: instructions, then input (a string, or items: messages, function calls and their outputs).</summary>
    private static List<PromptTurn> ResponsesTurns(JsonElement root)
    {
        var turns = new List<PromptTurn>();
        if (root.TryGetProperty("instructions", out var instructions) && instructions.ValueKind == JsonValueKind.String && Text(instructions) is { Length: > 0 } system)
        {
            turns.Add(new PromptTurn("system", system));
        }

        if (!root.TryGetProperty("input", out var input))
        {
            return turns;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            turns.Add(new PromptTurn("user", Text(input)));
            return turns;
        }

        if (input.ValueKind != JsonValueKind.Array)
        {
            return turns;
        }

        var callTurn = false; // the last turn is an assistant turn a function call belongs to
        foreach (var item in input.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                turns.Add(new PromptTurn("user", Text(item)));
                callTurn = false;
                continue;
            }

            if (item.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var type = StringOf(item, "type");
            if (StringOf(item, "role") is { } role && type is null or "message")
            {
                var content = new StringBuilder();
                if (item.TryGetProperty("content", out var c))
                {
                    AppendContent(content, c);
                }

                turns.Add(new PromptTurn(role, content.ToString()));
                callTurn = role == "assistant";
            }
            else if (type is "function_call" or "custom_tool_call")
            {
                // Chat carries calls on an assistant message without text: one turn for a run of calls.
                if (!callTurn)
                {
                    turns.Add(new PromptTurn("assistant", string.Empty));
                    callTurn = true;
                }
            }
            else if (type is "function_call_output" or "custom_tool_call_output")
            {
                var content = new StringBuilder();
                if (item.TryGetProperty("output", out var output))
                {
                    AppendContent(content, output);
                }

                turns.Add(new PromptTurn("tool", content.ToString()));
                callTurn = false;
            }
        }

        return turns;
    }

    /// <summary>Anthropic Messages: the system prompt (a string or text blocks), then the messages; tool results are tool turns.</summary>
    private static List<PromptTurn> MessagesTurns(JsonElement root)
    {
        var turns = new List<PromptTurn>();
        if (root.TryGetProperty("system", out var system) && system.ValueKind is JsonValueKind.String or JsonValueKind.Array)
        {
            var text = new StringBuilder();
            AppendContent(text, system);
            if (text.Length > 0)
            {
                turns.Add(new PromptTurn("system", text.ToString()));
            }
        }

        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return turns;
        }

        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var role = StringOf(message, "role") ?? "user";
            if (!message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                var text = new StringBuilder();
                if (message.TryGetProperty("content", out content))
                {
                    AppendContent(text, content);
                }

                turns.Add(new PromptTurn(role, text.ToString()));
                continue;
            }

            var rest = 0;
            foreach (var block in content.EnumerateArray())
            {
                if (StringOf(block, "type") == "tool_result")
                {
                    var result = new StringBuilder();
                    if (block.TryGetProperty("content", out var output))
                    {
                        AppendContent(result, output);
                    }

                    turns.Add(new PromptTurn("tool", result.ToString()));
                }
                else
                {
                    rest++;
                }
            }

            // A user message of tool results only is Chat's tool messages; anything else is a turn of its own.
            if (rest > 0 || role != "user")
            {
                var text = new StringBuilder();
                AppendContent(text, content, s_notInPrompt);
                turns.Add(new PromptTurn(role, text.ToString()));
            }
        }

        return turns;
    }

    /// <summary>Content blocks Chat Completions has no text for: tool calls (carried beside the text), tool results (own turns), thinking.</summary>
    private static readonly string[] s_notInPrompt = ["tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use"];

    private static void AppendContent(StringBuilder text, JsonElement content, string[]? skipTypes = null)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                text.Append(Text(content));
                break;
            case JsonValueKind.Array:
                var first = true;
                foreach (var part in content.EnumerateArray())
                {
                    if (skipTypes is not null && part.ValueKind == JsonValueKind.Object && StringOf(part, "type") is { } skipped && skipTypes.Contains(skipped))
                    {
                        continue;
                    }

                    if (!first)
                    {
                        text.Append('\n');
                    }

                    first = false;
                    if (part.ValueKind == JsonValueKind.String)
                    {
                        text.Append(Text(part));
                    }
                    else if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var partText) && partText.ValueKind == JsonValueKind.String)
                    {
                        text.Append(Text(partText));
                    }
                    else if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String)
                    {
                        text.Append('[').Append(PartName(Text(type))).Append(']');
                    }
                    else if (part.ValueKind == JsonValueKind.Number)
                    {
                        text.Append("[tokens]");
                        break;
                    }
                }

                break;
        }
    }

    /// <summary>Non-text parts by Chat Completions' names, so an image is "[image_url]" whichever API carried it.</summary>
    private static string PartName(string type) => type switch
    {
        "image" or "input_image" => "image_url",
        "document" or "input_file" => "file",
        _ => type,
    };

    private static string? StringOf(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? Text(value) : null;

    /// <summary>Hash of the prompt with case and runs of white space ignored (XxHash64, stable across processes).</summary>
    public static ulong Hash(string prompt)
    {
        // Normalised into pooled buffers: it runs for every captured call.
        var normalised = System.Buffers.ArrayPool<char>.Shared.Rent(Math.Max(1, prompt.Length));
        byte[]? utf8 = null;
        try
        {
            var length = 0;
            var pendingSpace = false;
            foreach (var c in prompt)
            {
                if (char.IsWhiteSpace(c))
                {
                    pendingSpace = length > 0;
                    continue;
                }

                if (pendingSpace)
                {
                    normalised[length++] = ' ';
                    pendingSpace = false;
                }

                normalised[length++] = char.ToLowerInvariant(c);
            }

            utf8 = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, Encoding.UTF8.GetMaxByteCount(length)));
            var bytes = Encoding.UTF8.GetBytes(normalised, 0, length, utf8, 0);
            return System.IO.Hashing.XxHash64.HashToUInt64(utf8.AsSpan(0, bytes));
        }
        finally
        {
            System.Buffers.ArrayPool<char>.Shared.Return(normalised);
            if (utf8 is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(utf8);
            }
        }
    }
}
