namespace Tao.Gateway.OpenAi;

/// <summary>The wire API a model's upstream speaks (<c>ModelEntry.Api</c>): it decides the credential header and which surfaces may reach it.</summary>
public enum UpstreamApi
{
    /// <summary>OpenAI's: Chat Completions, Completions, Embeddings, Responses; the credential as "Authorization: Bearer".</summary>
    OpenAI,

    /// <summary>Anthropic's Messages API; the credential as "x-api-key" and the "anthropic-version" header.</summary>
    Anthropic,
}
