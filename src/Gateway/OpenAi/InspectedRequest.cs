using System.Text.Json;

namespace Tao.Gateway.OpenAi;

/// <summary>What the gateway needs from a request body: the model and where it sits, streaming, user, task tag.</summary>
internal sealed class InspectedRequest(JsonDocument document) : IDisposable
{
    /// <summary>The parsed body, kept for the capture record and disposed with the request.</summary>
    public JsonDocument Document { get; } = document;

    public string Model { get; init; } = string.Empty;

    /// <summary>Byte range of the model's JSON string token (quotes included), for a surgical rewrite.</summary>
    public Range ModelToken { get; init; }

    public bool Stream { get; init; }
    public string? User { get; init; }
    public string? MetadataTask { get; init; }

    /// <summary>metadata.episode_id, when the body names one.</summary>
    public string? MetadataEpisode { get; init; }

    public void Dispose() => Document.Dispose();
}
