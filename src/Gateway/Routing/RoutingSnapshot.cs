using Tao.Gateway.State;

namespace Tao.Gateway.Routing;

/// <summary>
/// An immutable view of models and aliases. A request resolves against one snapshot from start to end, and a
/// change publishes a new snapshot atomically, so swapping an alias never disturbs a call in flight.
/// </summary>
internal sealed record RoutingSnapshot(
    IReadOnlyDictionary<string, ModelEntry> Models,
    IReadOnlyDictionary<string, AliasEntry> Aliases,
    long Version,
    DateTimeOffset UpdatedAt,
    IReadOnlyDictionary<string, ResiliencePolicy>? Resilience = null)
{
    /// <summary>The retry and fallback policy of a resolved call: its alias's, else its model's; null for none.</summary>
    public ResiliencePolicy? PolicyFor(ResolvedModel resolved) =>
        Resilience is null ? null
        : resolved.Alias is { } alias && Resilience.TryGetValue(alias, out var byAlias) ? byAlias
        : Resilience.GetValueOrDefault(resolved.Name);

    private const int MaxAliasDepth = 8;

    /// <summary>Resolves a requested name through aliases (and canary shares) to a model entry.</summary>
    public ResolvedModel? Resolve(string requested, Func<double>? random = null)
    {
        var name = requested;
        string? firstAlias = null;
        for (var depth = 0; depth <= MaxAliasDepth; depth++)
        {
            if (Models.TryGetValue(name, out var entry))
            {
                return new ResolvedModel(requested, firstAlias, name, entry);
            }

            if (!Aliases.TryGetValue(name, out var alias))
            {
                return null;
            }

            firstAlias ??= name;
            var canary = alias.CanaryTarget is { Length: > 0 } && alias.CanaryPercent > 0
                && (random ?? Random.Shared.NextDouble)() * 100 < alias.CanaryPercent;
            name = canary ? alias.CanaryTarget! : alias.Target;
        }

        return null;
    }

    /// <summary>Why setting <paramref name="alias"/> to <paramref name="target"/> would be wrong, or null when it is fine.</summary>
    public string? ValidateAlias(string alias, string target)
    {
        if (Models.ContainsKey(alias))
        {
            return $"'{alias}' is a model name, not an alias";
        }

        var name = target;
        for (var depth = 0; depth <= MaxAliasDepth; depth++)
        {
            if (name == alias)
            {
                return $"alias '{alias}' would point to itself";
            }

            if (Models.ContainsKey(name))
            {
                return null;
            }

            if (!Aliases.TryGetValue(name, out var next))
            {
                return $"target '{target}' is not a known model or alias";
            }

            name = next.Target;
        }

        return $"alias chain from '{target}' is deeper than {MaxAliasDepth}";
    }
}
