using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;

namespace Tao.Gateway.OpenAi;

/// <summary>Minimal-API results: answers in the host's JSON, errors in the OpenAI error shape.</summary>
internal static class OpenAiResults
{
    /// <summary>
    /// <paramref name="value"/> as JSON in the host's options, by its declared type's metadata from their resolver — the
    /// gateway's generated context (GatewayJson), never reflection, so it runs the same under Native AOT.
    /// </summary>
    public static IResult Json<T>(T value, int? statusCode = null) => new JsonAnswer<T>(value, statusCode);

    public static IResult Error(int status, string message, string type, string? code, string? param = null) =>
        Results.Text(System.Text.Encoding.UTF8.GetString(OpenAiError.Body(message, type, code, param)), "application/json", statusCode: status);

    public static IResult BadRequest(string message, string? param = null) =>
        Error(400, message, OpenAiError.InvalidRequest, "invalid_request", param);

    public static IResult NotFound(string message) => Error(404, message, OpenAiError.NotFound, "not_found");

    public static IResult Conflict(string message) => Error(409, message, OpenAiError.InvalidRequest, "conflict");

    private sealed class JsonAnswer<T>(T value, int? statusCode) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            var options = context.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
            return Results.Json(value, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)), statusCode: statusCode).ExecuteAsync(context);
        }
    }
}
