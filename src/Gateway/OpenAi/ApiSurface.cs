
namespace Tao.Gateway.OpenAi;

/// <summary>The proxied API surfaces: each path, the names recorded for it, and the API its upstream must speak.</summary>
internal enum ApiSurface
{
    /// <summary>OpenAI Chat Completions.</summary>
    Chat,

    /// <summary>OpenAI (legacy) Completions.</summary>
    Completions,

    Embeddings,

    /// <summary>OpenAI Responses: instructions and input items in, typed events out.</summary>
    Responses,

    /// <summary>Anthropic Messages: its own request, answer, stream events, errors and credentials.</summary>
    Messages,
}

internal static class Surfaces
{
    public const string MessagesPath = "/v1/messages";

    public static ApiSurface? FromPath(PathString path) => path.Value?.TrimEnd('/') switch
    {
        "/v1/chat/completions" => ApiSurface.Chat,
        "/v1/completions" => ApiSurface.Completions,
        "/v1/embeddings" => ApiSurface.Embeddings,
        "/v1/responses" => ApiSurface.Responses,
        MessagesPath => ApiSurface.Messages,
        _ => null,
    };

    /// <summary>The capture record's name for the surface (<see cref="Tao.Capture.ApiSurfaces"/>).</summary>
    public static string RecordName(this ApiSurface surface) => surface switch
    {
        ApiSurface.Chat => Tao.Capture.ApiSurfaces.Chat,
        ApiSurface.Completions => Tao.Capture.ApiSurfaces.Completions,
        ApiSurface.Responses => Tao.Capture.ApiSurfaces.Responses,
        ApiSurface.Messages => Tao.Capture.ApiSurfaces.Messages,
        _ => Tao.Capture.ApiSurfaces.Embeddings,
    };

    /// <summary>The GenAI semantic conventions' operation name (gen_ai.operation.name).</summary>
    public static string Operation(this ApiSurface surface) => surface switch
    {
        ApiSurface.Completions => "text_completion",
        ApiSurface.Embeddings => "embeddings",
        _ => "chat",
    };

    /// <summary>The API an upstream must speak to serve the surface: the gateway forwards bodies, it does not translate them.</summary>
    public static UpstreamApi Api(this ApiSurface surface) => surface == ApiSurface.Messages ? UpstreamApi.Anthropic : UpstreamApi.OpenAI;

    /// <summary>True for requests on Anthropic's surface, which are answered with Anthropic-shaped errors.</summary>
    public static bool IsAnthropic(PathString path) => path.StartsWithSegments(MessagesPath, StringComparison.OrdinalIgnoreCase);
}
