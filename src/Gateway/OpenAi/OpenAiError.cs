using System.Text.Json;

namespace Tao.Gateway.OpenAi;

/// <summary>
/// Errors in the shape OpenAI clients parse: {"error":{"message","type","param","code"}}; on Anthropic's Messages
/// surface <see cref="TryWriteAsync"/> writes Anthropic's shape instead (<see cref="AnthropicError"/>), so every check
/// the gateway makes answers each client in the form its SDK understands.
/// </summary>
internal static class OpenAiError
{
    public const string InvalidRequest = "invalid_request_error";
    public const string Authentication = "authentication_error";
    public const string Permission = "permission_error";
    public const string NotFound = "not_found_error";
    public const string Upstream = "upstream_error";
    public const string Server = "api_error";

    public static byte[] Body(string message, string type, string? code, string? param = null)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, message, type, code, param);
        }

        return buffer.ToArray();
    }

    public static void Write(Utf8JsonWriter writer, string message, string type, string? code, string? param = null)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        if (param is null)
        {
            writer.WriteNull("param");
        }
        else
        {
            writer.WriteString("param", param);
        }

        if (code is null)
        {
            writer.WriteNull("code");
        }
        else
        {
            writer.WriteString("code", code);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>
    /// Answers with an error unless the response has started (then the caller must end it otherwise); on the Messages
    /// surface in Anthropic's shape, where the type follows from the status and the code and param are not part of it.
    /// </summary>
    public static async Task<bool> TryWriteAsync(HttpContext context, int status, string message, string type, string? code, string? param = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null)
    {
        if (context.Response.HasStarted)
        {
            return false;
        }

        // Keep the request id: a client reporting a failed call needs it as much as one reporting a good one.
        var requestId = context.Response.Headers[Tao.Capture.TaoHeaders.RequestId];
        context.Response.Clear();
        if (requestId.Count > 0)
        {
            context.Response.Headers[Tao.Capture.TaoHeaders.RequestId] = requestId;
        }

        foreach (var (name, value) in headers ?? [])
        {
            context.Response.Headers[name] = value;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = Surfaces.IsAnthropic(context.Request.Path) ? AnthropicError.Body(status, message) : Body(message, type, code, param);
        context.Response.ContentLength = body.Length;
        try
        {
            await context.Response.Body.WriteAsync(body, context.RequestAborted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left; nothing to tell it.
        }

        return true;
    }
}
