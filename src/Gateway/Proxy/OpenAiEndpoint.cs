namespace Tao.Gateway.Proxy;

/// <summary>The proxied OpenAI operations, and the names recorded for them.</summary>
internal enum OpenAiEndpoint
{
    ChatCompletions,
    Completions,
    Embeddings,
}

internal static class OpenAiEndpoints
{
    public static OpenAiEndpoint? FromPath(PathString path) => path.Value?.TrimEnd('/') switch
    {
        "/v1/chat/completions" => OpenAiEndpoint.ChatCompletions,
        "/v1/completions" => OpenAiEndpoint.Completions,
        "/v1/embeddings" => OpenAiEndpoint.Embeddings,
        _ => null,
    };

    public static string RecordName(this OpenAiEndpoint endpoint) => endpoint switch
    {
        OpenAiEndpoint.ChatCompletions => "chat.completions",
        OpenAiEndpoint.Completions => "completions",
        _ => "embeddings",
    };
}
