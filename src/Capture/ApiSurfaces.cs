namespace Tao.Capture;

/// <summary>
/// The names a capture record gives the API surface of a call (<see cref="CaptureRecord.Endpoint"/>), shared by the
/// gateway that writes them and the readers that filter on them.
/// </summary>
public static class ApiSurfaces
{
    /// <summary>OpenAI Chat Completions, /v1/chat/completions.</summary>
    public const string Chat = "chat";

    /// <summary>OpenAI Responses, /v1/responses.</summary>
    public const string Responses = "responses";

    /// <summary>Anthropic Messages, /v1/messages.</summary>
    public const string Messages = "messages";

    /// <summary>OpenAI (legacy) Completions, /v1/completions.</summary>
    public const string Completions = "completions";

    /// <summary>OpenAI Embeddings, /v1/embeddings.</summary>
    public const string Embeddings = "embeddings";

    /// <summary>What records of schema version 1 wrote for <see cref="Chat"/>; readers treat the two alike.</summary>
    public const string LegacyChat = "chat.completions";

    /// <summary>Surfaces whose calls are conversations the flywheel learns from.</summary>
    public static IReadOnlyList<string> Conversational { get; } = [Chat, LegacyChat, Responses, Messages];

    /// <summary>The surface's current name (a version 1 record's "chat.completions" reads as "chat").</summary>
    public static string Normalise(string endpoint) => endpoint == LegacyChat ? Chat : endpoint;

    /// <summary>
    /// The same mapping as SQL over a column holding the endpoint, so queries over old and new rows (and the per-minute
    /// rollup, whose key includes the endpoint and cannot be rewritten) group and filter them together.
    /// </summary>
    public static string NormaliseSql(string column) => $"if({column} = '{LegacyChat}', '{Chat}', {column})";
}
