namespace Tao.Gateway.OpenAi;

/// <summary>A request body the gateway refuses, with the OpenAI error fields to answer with.</summary>
internal sealed class RequestValidationException(string message, string? param, string code = "invalid_request") : Exception(message)
{
    public string? Param { get; } = param;
    public string Code { get; } = code;
}
