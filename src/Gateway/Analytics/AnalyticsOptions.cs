namespace Tao.Gateway.Analytics;

/// <summary>Analytics settings (section Tao:Analytics).</summary>
public sealed class AnalyticsOptions
{
    public const string Section = "Tao:Analytics";

    /// <summary>
    /// Prices in USD per million tokens, by model name or alias (the model's own price wins, then its alias's, then
    /// "*"). Pricing an alias prices every version the flywheel promotes behind it. Default: none (cost 0).
    /// </summary>
    public Dictionary<string, ModelPrice> Prices { get; set; } = new(StringComparer.Ordinal);
}
