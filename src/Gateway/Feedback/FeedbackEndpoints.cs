using System.Text.Json;
using Tao.Gateway.Auth;
using Tao.Gateway.OpenAi;

namespace Tao.Gateway.Feedback;

/// <summary>
/// POST /v1/feedback: a signal on a request id or an episode id, with TensorZero's semantics — a declared metric
/// (boolean or float, request or episode level), or the reserved kinds "comment" and "demonstration" (an edited ideal
/// answer). A key rates only its own calls (the admin key any). The latest feedback per (target, metric, key) wins.
/// It travels the capture path (spool → feedback table, tao.feedback topic), so a sink being down loses none of it.
/// </summary>
internal static class FeedbackEndpoints
{
    public static void MapFeedback(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/feedback", async (HttpContext context, FeedbackService feedback) =>
        {
            JsonDocument document;
            try
            {
                document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 16 }, context.RequestAborted);
            }
            catch (JsonException e)
            {
                return OpenAiResults.Error(400, $"We could not parse the JSON body of your request: {e.Message}", OpenAiError.InvalidRequest, "invalid_json");
            }

            using (document)
            {
                var caller = context.Features.Get<Caller>() ?? Caller.Anonymous;
                var result = await feedback.PostAsync(document.RootElement, caller, context.RequestAborted);
                return result.Error is { } error
                    ? OpenAiResults.Error(error.Status, error.Message,
                        error.Status == 404 ? OpenAiError.NotFound : error.Status == 403 ? OpenAiError.Permission : OpenAiError.InvalidRequest, error.Code, error.Param)
                    : OpenAiResults.Json(new Accepted(result.Record!.FeedbackId, result.DryRun));
            }
        }).DisableAntiforgery();
    }

    internal sealed record Accepted(Guid FeedbackId, bool DryRun);
}
