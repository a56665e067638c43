using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tao.Capture.Export;

/// <summary>
/// Turns a captured chat request into the message list a fine-tuning file holds: roles a trainer knows (developer
/// becomes system), text parts joined into strings, tool calls kept, everything else the request carried dropped.
/// </summary>
internal static class ChatMessages
{
    private static readonly HashSet<string> s_roles = new(["system", "user", "assistant", "tool"], StringComparer.Ordinal);

    /// <summary>
    /// The conversation of a captured request plus the answer, or null when it cannot be a training example. Requests of
    /// the Responses and Messages surfaces are read as the chat turns the gateway derives their prompt from
    /// (<see cref="PromptText.Conversation"/>: instructions or the system prompt a system turn, inputs user turns); a
    /// conversation of theirs with tool results is left out, since its turns carry no tool call ids to pair them with.
    /// </summary>
    public static JsonArray? Conversation(string requestJson, string answer, bool plainStrings, string endpoint = ApiSurfaces.Chat)
    {
        if (ApiSurfaces.Normalise(endpoint) is ApiSurfaces.Responses or ApiSurfaces.Messages)
        {
            return OtherSurface(requestJson, answer, endpoint);
        }

        JsonNode? request;
        try
        {
            request = JsonNode.Parse(requestJson);
        }
        catch (JsonException)
        {
            return null;
        }

        if (request?["messages"] is not JsonArray messages || messages.Count == 0 || string.IsNullOrWhiteSpace(answer))
        {
            return null;
        }

        var conversation = new JsonArray();
        foreach (var message in messages)
        {
            if (message is not JsonObject m || m["role"]?.GetValue<string>() is not { } role)
            {
                return null;
            }

            role = role == "developer" ? "system" : role;
            if (!s_roles.Contains(role))
            {
                return null;
            }

            var text = Text(m["content"]);
            var copy = new JsonObject { ["role"] = role, ["content"] = text };
            if (!plainStrings && role == "assistant" && m["tool_calls"] is JsonArray calls)
            {
                copy["tool_calls"] = calls.DeepClone();
                copy["content"] = text.Length == 0 ? null : text;
            }

            if (!plainStrings && role == "tool" && m["tool_call_id"] is JsonValue callId)
            {
                copy["tool_call_id"] = callId.DeepClone();
            }

            conversation.Add((JsonNode)copy);
        }

        conversation.Add((JsonNode)new JsonObject { ["role"] = "assistant", ["content"] = answer });
        return conversation;
    }

    private static JsonArray? OtherSurface(string requestJson, string answer, string endpoint)
    {
        IReadOnlyList<PromptTurn> turns;
        try
        {
            using var document = JsonDocument.Parse(requestJson);
            turns = PromptText.Conversation(document.RootElement, endpoint);
        }
        catch (JsonException)
        {
            return null;
        }

        if (turns.Count == 0 || string.IsNullOrWhiteSpace(answer))
        {
            return null;
        }

        var conversation = new JsonArray();
        foreach (var turn in turns)
        {
            var role = turn.Role == "developer" ? "system" : turn.Role;
            if (role is not ("system" or "user" or "assistant") || (role != "assistant" && string.IsNullOrWhiteSpace(turn.Content)))
            {
                return null;
            }

            conversation.Add((JsonNode)new JsonObject { ["role"] = role, ["content"] = turn.Content });
        }

        conversation.Add((JsonNode)new JsonObject { ["role"] = "assistant", ["content"] = answer });
        return conversation;
    }

    /// <summary>The conversation without its final answer (the prompt of a preference pair).</summary>
    public static JsonArray Prompt(JsonArray conversation)
    {
        var prompt = new JsonArray();
        for (var i = 0; i < conversation.Count - 1; i++)
        {
            prompt.Add(conversation[i]!.DeepClone());
        }

        return prompt;
    }

    private static string Text(JsonNode? content) => content switch
    {
        null => string.Empty,
        JsonValue value when value.TryGetValue<string>(out var s) => s,
        JsonArray parts => string.Concat(parts.OfType<JsonObject>().Where(p => p["type"]?.GetValue<string>() is "text" or "input_text")
            .Select(p => p["text"]?.GetValue<string>() ?? string.Empty)),
        _ => content.ToJsonString(),
    };
}
