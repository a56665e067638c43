namespace Tao.Gateway.State;

/// <summary>
/// An alias (e.g. "support-bot") names a model or another alias. A canary sends a share of the alias's traffic
/// to a second target before a full promotion.
/// </summary>
internal sealed class AliasEntry
{
    public string Target { get; set; } = string.Empty;

    /// <summary>Second target receiving <see cref="CanaryPercent"/> of the traffic. Default: none.</summary>
    public string? CanaryTarget { get; set; }

    /// <summary>Share of calls (0-100) routed to the canary target. Default: 0.</summary>
    public double CanaryPercent { get; set; }
}
