using System.Text.Json;

namespace Tao.Tests;

/// <summary>
/// Strict checks written from OpenAI's fine-tuning file rules (chat format) and the shape DPO trainers read, so an
/// export that a trainer would reject fails here first. Each returns the problems found, empty when the line is valid.
/// </summary>
public static class FineTuningValidators
{
    private static readonly HashSet<string> s_roles = new(["system", "user", "assistant", "tool"], StringComparer.Ordinal);
    private static readonly HashSet<string> s_messageKeys = new(["role", "content", "name", "weight", "tool_calls", "tool_call_id"], StringComparer.Ordinal);
    private static readonly HashSet<string> s_lineKeys = new(["messages", "tools", "parallel_tool_calls"], StringComparer.Ordinal);

    /// <summary>
    /// OpenAI chat fine-tuning: an object with "messages" (and optionally "tools"); roles system/user/assistant/tool;
    /// system messages only before the conversation starts; the first other message is the user's; the last is the
    /// assistant's; every assistant turn has non-empty text or tool calls; contents are strings.
    /// </summary>
    public static List<string> OpenAiChat(string line)
    {
        var problems = new List<string>();
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return ["a line must be a JSON object"];
        }

        problems.AddRange(root.EnumerateObject().Where(p => !s_lineKeys.Contains(p.Name)).Select(p => $"unknown key '{p.Name}'"));
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() < 2)
        {
            problems.Add("'messages' must be an array of at least two messages");
            return problems;
        }

        problems.AddRange(Conversation(messages, requireAssistantLast: true));
        return problems;
    }

    /// <summary>Hugging Face chat (TRL SFT conversational): "messages" with string contents; other keys are metadata.</summary>
    public static List<string> HfChat(string line)
    {
        using var document = JsonDocument.Parse(line);
        if (!document.RootElement.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return ["'messages' is missing"];
        }

        var problems = Conversation(messages, requireAssistantLast: true);
        problems.AddRange(messages.EnumerateArray().Where(m => m.GetProperty("content").ValueKind != JsonValueKind.String).Select(_ => "contents must be strings"));
        return problems;
    }

    /// <summary>
    /// DPO (TRL conversational preference): "prompt" a conversation ending with the user's turn; "chosen" and
    /// "rejected" one assistant message each, non-empty and different.
    /// </summary>
    public static List<string> Preference(string line)
    {
        var problems = new List<string>();
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        foreach (var key in new[] { "prompt", "chosen", "rejected" })
        {
            if (!root.TryGetProperty(key, out var value) || value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
            {
                problems.Add($"'{key}' must be a non-empty array of messages");
            }
        }

        if (problems.Count > 0)
        {
            return problems;
        }

        var prompt = root.GetProperty("prompt");
        problems.AddRange(Conversation(prompt, requireAssistantLast: false));
        if (prompt[prompt.GetArrayLength() - 1].GetProperty("role").GetString() != "user")
        {
            problems.Add("the prompt must end with the user's turn");
        }

        string? Answer(string key)
        {
            var messages = root.GetProperty(key);
            if (messages.GetArrayLength() != 1 || messages[0].GetProperty("role").GetString() != "assistant"
                || messages[0].GetProperty("content").ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(messages[0].GetProperty("content").GetString()))
            {
                problems.Add($"'{key}' must be one assistant message with text");
                return null;
            }

            return messages[0].GetProperty("content").GetString();
        }

        if (Answer("chosen") is { } chosen && Answer("rejected") is { } rejected && chosen == rejected)
        {
            problems.Add("chosen and rejected are the same answer");
        }

        return problems;
    }

    private static List<string> Conversation(JsonElement messages, bool requireAssistantLast)
    {
        var problems = new List<string>();
        var seenOther = false;
        var index = 0;
        string? lastRole = null;
        foreach (var message in messages.EnumerateArray())
        {
            var at = $"messages[{index++}]";
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
            {
                problems.Add($"{at} needs a string role");
                continue;
            }

            var role = roleElement.GetString()!;
            problems.AddRange(message.EnumerateObject().Where(p => !s_messageKeys.Contains(p.Name)).Select(p => $"{at} has unknown key '{p.Name}'"));
            if (!s_roles.Contains(role))
            {
                problems.Add($"{at} has role '{role}'");
            }

            if (role == "system" && seenOther)
            {
                problems.Add($"{at}: system messages come before the conversation");
            }

            if (role != "system" && !seenOther && role != "user")
            {
                problems.Add($"{at}: the conversation starts with the user");
            }

            seenOther |= role != "system";
            var content = message.TryGetProperty("content", out var c) ? c : default;
            var hasToolCalls = message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0;
            if (content.ValueKind is not (JsonValueKind.String or JsonValueKind.Null or JsonValueKind.Undefined))
            {
                problems.Add($"{at}: content must be a string");
            }

            if (role == "assistant" && !hasToolCalls && (content.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(content.GetString())))
            {
                problems.Add($"{at}: an assistant turn needs text or tool calls");
            }

            if (role is "user" or "system" && (content.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(content.GetString())))
            {
                problems.Add($"{at}: a {role} turn needs text");
            }

            lastRole = role;
        }

        if (requireAssistantLast && lastRole != "assistant")
        {
            problems.Add("the last message must be the assistant's (the example to learn)");
        }

        return problems;
    }
}
