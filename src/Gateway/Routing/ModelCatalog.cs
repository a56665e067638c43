using Microsoft.Extensions.Options;
using Tao.Gateway.State;

namespace Tao.Gateway.Routing;

/// <summary>
/// Models and aliases: configuration overlaid with runtime changes. Changes go to disk first, then a new
/// <see cref="RoutingSnapshot"/> is published with one atomic reference swap.
/// </summary>
internal sealed class ModelCatalog : IDisposable
{
    private readonly IOptionsMonitor<RoutingOptions> _options;
    private readonly GatewayStateStore _state;
    private readonly TimeProvider _time;
    private readonly IDisposable? _subscription;
    private readonly Lock _writeGate = new();
    private RoutingSnapshot _current;
    private long _version;

    public ModelCatalog(IOptionsMonitor<RoutingOptions> options, GatewayStateStore state, TimeProvider time)
    {
        _options = options;
        _state = state;
        _time = time;
        _current = Build(options.CurrentValue, state.Current);
        _subscription = options.OnChange(o => Publish(o, _state.Current));
        state.Replaced += shared =>
        {
            lock (_writeGate)
            {
                Publish(_options.CurrentValue, shared);
            }
        };
    }

    public RoutingSnapshot Current => Volatile.Read(ref _current);

    /// <summary>Raised after a new snapshot is published.</summary>
    public event Action<RoutingSnapshot>? Changed;

    public bool IsConfiguredModel(string name) => _options.CurrentValue.Models.ContainsKey(name);

    public bool IsConfiguredAlias(string name) => _options.CurrentValue.Aliases.ContainsKey(name);

    /// <summary>Points an alias at a model or alias (optionally with a canary). Returns an error message or null.</summary>
    public string? SetAlias(string alias, AliasEntry entry)
    {
        lock (_writeGate)
        {
            var error = Current.ValidateAlias(alias, entry.Target)
                ?? (entry.CanaryTarget is { Length: > 0 } canary ? Current.ValidateAlias(alias, canary) : null);
            if (error is not null)
            {
                return error;
            }

            if (entry.CanaryPercent is < 0 or > 100)
            {
                return "canary_percent must be between 0 and 100";
            }

            var state = _state.Update(s => s.Aliases[alias] = entry);
            Publish(_options.CurrentValue, state);
            return null;
        }
    }

    /// <summary>Removes a runtime alias (a configured one reappears). False when there was none.</summary>
    public bool RemoveAlias(string alias)
    {
        lock (_writeGate)
        {
            if (!_state.Current.Aliases.ContainsKey(alias))
            {
                return false;
            }

            Publish(_options.CurrentValue, _state.Update(s => s.Aliases.Remove(alias)));
            return true;
        }
    }

    public void UpsertModel(string name, ModelEntry entry)
    {
        lock (_writeGate)
        {
            Publish(_options.CurrentValue, _state.Update(s => s.Models[name] = entry));
        }
    }

    /// <summary>Removes a runtime model. Returns an error when aliases still point at it, null otherwise.</summary>
    public string? RemoveModel(string name, out bool removed)
    {
        lock (_writeGate)
        {
            removed = false;
            if (!_state.Current.Models.ContainsKey(name))
            {
                return null;
            }

            var users = Current.Aliases.Where(a => a.Value.Target == name || a.Value.CanaryTarget == name).Select(a => a.Key).ToList();
            if (users.Count > 0 && !_options.CurrentValue.Models.ContainsKey(name))
            {
                return $"aliases still point at '{name}': {string.Join(", ", users)}";
            }

            Publish(_options.CurrentValue, _state.Update(s => s.Models.Remove(name)));
            removed = true;
            return null;
        }
    }

    private void Publish(RoutingOptions options, GatewayState state)
    {
        var snapshot = Build(options, state);
        Volatile.Write(ref _current, snapshot);
        Changed?.Invoke(snapshot);
    }

    private RoutingSnapshot Build(RoutingOptions options, GatewayState state)
    {
        var models = new Dictionary<string, ModelEntry>(options.Models, StringComparer.Ordinal);
        foreach (var (name, entry) in state.Models)
        {
            models[name] = entry;
        }

        var aliases = options.Aliases.ToDictionary(a => a.Key, a => new AliasEntry { Target = a.Value }, StringComparer.Ordinal);
        foreach (var (name, entry) in state.Aliases)
        {
            aliases[name] = entry;
        }

        return new RoutingSnapshot(models, aliases, Interlocked.Increment(ref _version), _time.GetUtcNow(),
            new Dictionary<string, ResiliencePolicy>(options.Resilience, StringComparer.Ordinal));
    }

    public void Dispose() => _subscription?.Dispose();
}
