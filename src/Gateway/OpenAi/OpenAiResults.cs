namespace Tao.Gateway.OpenAi;

/// <summary>Minimal-API results in the OpenAI error shape.</summary>
internal static class OpenAiResults
{
    public static IResult Error(int status, string message, string type, string? code, string? param = null) =>
        Results.Text(System.Text.Encoding.UTF8.GetString(OpenAiError.Body(message, type, code, param)), "application/json", statusCode: status);

    public static IResult BadRequest(string message, string? param = null) =>
        Error(400, message, OpenAiError.InvalidRequest, "invalid_request", param);

    public static IResult NotFound(string message) => Error(404, message, OpenAiError.NotFound, "not_found");

    public static IResult Conflict(string message) => Error(409, message, OpenAiError.InvalidRequest, "conflict");
}
