using System.Text;
using System.Text.Json;

namespace Tao.Gateway.OpenAi;

/// <summary>
/// Parses and checks a request body: valid JSON (UTF-8, bounded depth), an object with exactly one string
/// "model", and the fields each surface cannot do without (the capture reads them). Everything else is the upstream's
/// to judge.
/// </summary>
internal static class RequestInspector
{
    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    public static InspectedRequest Inspect(ApiSurface endpoint, ReadOnlyMemory<byte> body)
    {
        // The JSON parser checks structure, not the UTF-8 inside strings; a body that is not UTF-8 is refused whole.
        if (!System.Text.Unicode.Utf8.IsValid(body.Span))
        {
            throw new RequestValidationException("The request body is not valid UTF-8.", null, "invalid_json");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, s_options);
        }
        catch (JsonException e)
        {
            throw new RequestValidationException($"We could not parse the JSON body of your request: {e.Message}", null, "invalid_json");
        }

        try
        {
            return Check(endpoint, body.Span, document);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    private static InspectedRequest Check(ApiSurface endpoint, ReadOnlySpan<byte> body, JsonDocument document)
    {
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new RequestValidationException("The request body must be a JSON object.", null, "invalid_json");
        }

        var modelToken = FindModelToken(body);
        if (!root.TryGetProperty("model", out var model))
        {
            throw new RequestValidationException("You must provide a model parameter.", "model", "missing_model");
        }

        if (model.ValueKind != JsonValueKind.String || Tao.Capture.PromptText.Text(model) is not { Length: > 0 and <= 256 } modelName)
        {
            throw new RequestValidationException("'model' must be a non-empty string of at most 256 characters.", "model", "invalid_type");
        }

        switch (endpoint)
        {
            case ApiSurface.Chat:
                RequireMessages(root);
                break;
            case ApiSurface.Completions:
                Require(root, "prompt", JsonValueKind.String, JsonValueKind.Array);
                break;
            case ApiSurface.Embeddings:
                Require(root, "input", JsonValueKind.String, JsonValueKind.Array);
                break;
            case ApiSurface.Responses:
                CheckResponses(root);
                break;
            case ApiSurface.Messages:
                RequireMessages(root);
                Optional(root, "system", JsonValueKind.String, JsonValueKind.Array);
                break;
        }

        if (root.TryGetProperty("user", out var user) && user.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
        {
            throw new RequestValidationException("'user' must be a string.", "user", "invalid_type");
        }

        var metadata = root.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;

        var stream = false;
        if (root.TryGetProperty("stream", out var streamElement))
        {
            stream = streamElement.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False or JsonValueKind.Null => false,
                _ => throw new RequestValidationException("'stream' must be a boolean.", "stream", "invalid_type"),
            };
        }

        return new InspectedRequest(document)
        {
            Model = modelName,
            ModelToken = modelToken,
            Stream = stream,
            // Anthropic names the end user in metadata.user_id; the Responses API's newer name for it is safety_identifier.
            User = OptionalString(root, "user")
                ?? (endpoint == ApiSurface.Messages && metadata.ValueKind == JsonValueKind.Object ? OptionalString(metadata, "user_id") : null)
                ?? (endpoint == ApiSurface.Responses ? OptionalString(root, "safety_identifier") : null),
            MetadataTask = metadata.ValueKind == JsonValueKind.Object ? OptionalString(metadata, "task") : null,
            MetadataEpisode = metadata.ValueKind == JsonValueKind.Object ? OptionalString(metadata, "episode_id") : null,
        };
    }

    /// <summary>
    /// Finds the one top-level "model" token. Two of them are refused: the gateway would route on one and the
    /// upstream might read the other.
    /// </summary>
    private static Range FindModelToken(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        Range? found = null;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                if (found is not null)
                {
                    throw new RequestValidationException("The request names 'model' more than once.", "model", "duplicate_model");
                }

                found = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
            }

            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= 1)
            {
                reader.Skip();
            }
        }

        return found ?? default;
    }

    private static void RequireMessages(JsonElement root)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw new RequestValidationException("'messages' is required and must be an array.", "messages", "missing_messages");
        }

        if (messages.GetArrayLength() == 0)
        {
            throw new RequestValidationException("'messages' must contain at least one message.", "messages", "empty_messages");
        }

        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                throw new RequestValidationException($"messages[{index}] must be an object with a string 'role'.", $"messages[{index}]", "invalid_message");
            }

            index++;
        }
    }

    /// <summary>
    /// Responses: input as a string or an array of items, unless the conversation comes from the upstream's own state
    /// (previous_response_id, conversation) or a stored prompt; instructions, when given, a string.
    /// </summary>
    private static void CheckResponses(JsonElement root)
    {
        if (root.TryGetProperty("input", out var input))
        {
            if (input.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
            {
                throw new RequestValidationException("'input' must be a string or an array of input items.", "input", "invalid_type");
            }
        }
        else if (!root.TryGetProperty("previous_response_id", out _) && !root.TryGetProperty("conversation", out _) && !root.TryGetProperty("prompt", out _))
        {
            throw new RequestValidationException("'input' is required.", "input", "missing_input");
        }

        Optional(root, "instructions", JsonValueKind.String);
    }

    private static void Optional(JsonElement root, string name, params JsonValueKind[] kinds)
    {
        if (root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null && !kinds.Contains(value.ValueKind))
        {
            throw new RequestValidationException(
                $"'{name}' must be {string.Join(" or ", kinds.Select(k => k == JsonValueKind.String ? "a string" : "an array"))}.", name, "invalid_type");
        }
    }

    private static void Require(JsonElement root, string name, params JsonValueKind[] kinds)
    {
        if (!root.TryGetProperty(name, out var value) || !kinds.Contains(value.ValueKind))
        {
            throw new RequestValidationException($"'{name}' is required.", name, $"missing_{name}");
        }
    }

    private static string? OptionalString(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? Tao.Capture.PromptText.Text(value) : null;

    /// <summary>Replaces the model value without touching any other byte of the body.</summary>
    public static byte[] RewriteModel(ReadOnlySpan<byte> body, Range modelToken, string upstreamModel)
    {
        var (start, length) = modelToken.GetOffsetAndLength(body.Length);
        var replacement = Encoding.UTF8.GetBytes($"\"{JsonEncodedText.Encode(upstreamModel)}\"");
        var result = new byte[body.Length - length + replacement.Length];
        body[..start].CopyTo(result);
        replacement.CopyTo(result.AsSpan(start));
        body[(start + length)..].CopyTo(result.AsSpan(start + replacement.Length));
        return result;
    }
}
