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
        var text = new StringBuilder();
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                var role = message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? Text(r) : "user";
                if (text.Length > 0)
                {
                    text.Append('\n');
                }

                text.Append(role).Append(": ");
                if (message.TryGetProperty("content", out var content))
                {
                    AppendContent(text, content);
                }
            }

            return text.ToString();
        }

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

    private static void AppendContent(StringBuilder text, JsonElement content)
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
                        text.Append('[').Append(Text(type)).Append(']');
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

    /// <summary>Hash of the prompt with case and runs of white space ignored (XxHash64, stable across processes).</summary>
    public static ulong Hash(string prompt)
    {
        var normalised = new StringBuilder(prompt.Length);
        var pendingSpace = false;
        foreach (var c in prompt)
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = normalised.Length > 0;
                continue;
            }

            if (pendingSpace)
            {
                normalised.Append(' ');
                pendingSpace = false;
            }

            normalised.Append(char.ToLowerInvariant(c));
        }

        return System.IO.Hashing.XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(normalised.ToString()));
    }
}
