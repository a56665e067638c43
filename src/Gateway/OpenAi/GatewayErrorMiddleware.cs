using Microsoft.AspNetCore.Http.Features;

namespace Tao.Gateway.OpenAi;

/// <summary>
/// Last line of defence: whatever a client sends, the answer is an OpenAI-style error, not a bare 500 or a crash.
/// Request-level faults Kestrel reports (body too large, too slow, malformed framing) become 4xx.
/// </summary>
internal sealed partial class GatewayErrorMiddleware(RequestDelegate next, ILogger<GatewayErrorMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e)
        {
            var (status, code) = e.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => (413, "request_too_large"),
                StatusCodes.Status408RequestTimeout => (408, "request_timeout"),
                StatusCodes.Status431RequestHeaderFieldsTooLarge => (431, "headers_too_large"),
                _ => (400, "bad_request"),
            };
            await OpenAiError.TryWriteAsync(context, status, e.Message, OpenAiError.InvalidRequest, code);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // Client went away.
        }
        catch (Exception e)
        {
            LogUnhandled(logger, context.Request.Path, e);
            if (!await OpenAiError.TryWriteAsync(context, 500, "The gateway failed to handle the request.", OpenAiError.Server, "internal_error"))
            {
                context.Features.Get<IHttpResetFeature>()?.Reset(2);
                context.Abort();
            }
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unhandled error on {Path}")]
    private static partial void LogUnhandled(ILogger logger, PathString path, Exception exception);
}
