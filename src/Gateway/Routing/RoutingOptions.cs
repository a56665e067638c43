using Tao.Gateway.State;

namespace Tao.Gateway.Routing;

/// <summary>The model map from configuration: section "Tao", keys "Models" and "Aliases".</summary>
public sealed class RoutingOptions
{
    public const string Section = "Tao";

    /// <summary>Model name to where it is served.</summary>
    public Dictionary<string, ModelEntry> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Alias to the model (or alias) it currently names.</summary>
    public Dictionary<string, string> Aliases { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Retries and fallbacks per model or alias name (an alias's policy outlives the versions it points to). Default: none,
    /// so a failing upstream's answer reaches the client as it is.
    /// </summary>
    public Dictionary<string, ResiliencePolicy> Resilience { get; set; } = new(StringComparer.Ordinal);
}
