using Microsoft.Extensions.Options;

namespace Tao.Gateway.Routing;

/// <summary>
/// Refuses, when the gateway starts, a model map it would misread: a model whose Api is neither "openai" nor "anthropic"
/// would otherwise be called as an OpenAI upstream. The same rule as `tao config check` and the admin API.
/// </summary>
internal sealed class RoutingOptionsValidator : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        var problems = options.Models
            .Select(m => m.Value.ApiProblem() is { } problem ? $"{RoutingOptions.Section}:Models:{m.Key}:Api: {problem}" : null)
            .OfType<string>()
            .ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
