namespace Tao.Gateway.Analytics;

/// <summary>A query parameter that is missing, unknown or malformed; answered with 400 naming it.</summary>
public sealed class AnalyticsQueryException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}
