using System.Text.Json;

namespace Tao.Gateway.OpenAi;

/// <summary>
/// Errors in the shape Anthropic's clients parse, for calls on the Messages surface:
/// {"type":"error","error":{"type":"invalid_request_error","message":"..."}}. The error type follows from the status
/// the way Anthropic's API assigns it, so an SDK raises the same exception class it would against Anthropic.
/// </summary>
internal static class AnthropicError
{
    public static byte[] Body(int status, string message)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "error");
            writer.WriteStartObject("error");
            writer.WriteString("type", Type(status));
            writer.WriteString("message", message);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Anthropic's error type for an HTTP status (https://docs.anthropic.com/en/api/errors).</summary>
    public static string Type(int status) => status switch
    {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 or 503 => "overloaded_error",
        >= 500 => "api_error",
        _ => "invalid_request_error",
    };

    /// <summary>The event that ends a broken Anthropic stream: the SDKs raise an "error" event as an exception.</summary>
    public static byte[] StreamEvent(int status, string message) =>
        [.. "\n\nevent: error\ndata: "u8, .. Body(status, message), .. "\n\n"u8];
}
