namespace Tao.Gateway.OpenAi;

/// <summary>
/// Header names of the APIs the gateway speaks, OpenAI's and Anthropic's. HTTP's own come from
/// <see cref="Microsoft.Net.Http.Headers.HeaderNames"/>, Tao's from <see cref="Tao.Capture.TaoHeaders"/>.
/// </summary>
internal static class ApiHeaders
{
    /// <summary>The key header Azure OpenAI's clients send; a gateway key is accepted in it.</summary>
    public const string ApiKey = "api-key";

    /// <summary>Anthropic's credential header: a gateway key from Anthropic's SDKs, the model's credential to an Anthropic upstream.</summary>
    public const string XApiKey = "x-api-key";

    /// <summary>The Anthropic API version; an Anthropic upstream gets the model's, whatever the client sent.</summary>
    public const string AnthropicVersion = "anthropic-version";

    /// <summary>A client-side Anthropic key header some clients add; never forwarded unless configured.</summary>
    public const string AnthropicApiKey = "anthropic-api-key";

    /// <summary>The OpenAI account a call is billed or scoped to: the caller's, which must not replace the gateway's credential.</summary>
    public const string OpenAiOrganization = "OpenAI-Organization";

    public const string OpenAiProject = "OpenAI-Project";

    /// <summary>OpenAI's wait hint in milliseconds, read before Retry-After.</summary>
    public const string RetryAfterMs = "retry-after-ms";

    // OpenAI's rate-limit headers: the gateway answers with the key's own, never the upstream account's.
    public const string RateLimitLimitRequests = "x-ratelimit-limit-requests";
    public const string RateLimitRemainingRequests = "x-ratelimit-remaining-requests";
    public const string RateLimitResetRequests = "x-ratelimit-reset-requests";
    public const string RateLimitLimitTokens = "x-ratelimit-limit-tokens";
    public const string RateLimitRemainingTokens = "x-ratelimit-remaining-tokens";
    public const string RateLimitResetTokens = "x-ratelimit-reset-tokens";
}
