using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Tao.Gateway.Routing;

namespace Tao.Gateway.Auth;

/// <summary>Gateway API keys by hash: configured ones plus those created through the admin API.</summary>
public sealed class ApiKeyStore
{
    private readonly IOptionsMonitor<AuthOptions> _options;
    private readonly GatewayStateStore _state;
    private readonly TimeProvider _time;
    private FrozenDictionary<string, ApiKey> _byHash;

    public ApiKeyStore(IOptionsMonitor<AuthOptions> options, GatewayStateStore state, TimeProvider time)
    {
        _options = options;
        _state = state;
        _time = time;
        _byHash = Build();
        options.OnChange(_ => Volatile.Write(ref _byHash, Build()));
        state.Replaced += _ => Volatile.Write(ref _byHash, Build());
    }

    public ApiKey? Find(string presentedKey) =>
        Volatile.Read(ref _byHash).TryGetValue(KeyHasher.Hash(presentedKey), out var key) ? key : null;

    public IReadOnlyCollection<ApiKey> All => Volatile.Read(ref _byHash).Values;

    /// <summary>Creates a key; the secret is returned once and only its hash is kept.</summary>
    public (ApiKey Key, string Secret) Create(string name, string? task)
    {
        var secret = KeyHasher.NewKey();
        var key = new ApiKey(KeyHasher.NewId(), name, KeyHasher.Hash(secret), task, _time.GetUtcNow());
        _state.Update(s => s.Keys.Add(key));
        Volatile.Write(ref _byHash, Build());
        return (key, secret);
    }

    public bool Revoke(string id)
    {
        if (!_state.Current.Keys.Any(k => k.Id == id))
        {
            return false;
        }

        _state.Update(s => s.Keys.RemoveAll(k => k.Id == id));
        Volatile.Write(ref _byHash, Build());
        return true;
    }

    public bool IsAdmin(string presentedKey)
    {
        var options = _options.CurrentValue;
        var expected = !string.IsNullOrEmpty(options.AdminKeySha256) ? options.AdminKeySha256.ToLowerInvariant()
            : !string.IsNullOrEmpty(options.AdminKey) ? KeyHasher.Hash(options.AdminKey)
            : null;
        return expected is not null && KeyHasher.FixedTimeEquals(KeyHasher.Hash(presentedKey), expected);
    }

    private FrozenDictionary<string, ApiKey> Build()
    {
        var keys = new Dictionary<string, ApiKey>(StringComparer.Ordinal);
        foreach (var configured in _options.CurrentValue.Keys)
        {
            var hash = !string.IsNullOrEmpty(configured.Sha256) ? configured.Sha256.ToLowerInvariant()
                : !string.IsNullOrEmpty(configured.Key) ? KeyHasher.Hash(configured.Key)
                : null;
            if (hash is not null)
            {
                keys[hash] = new ApiKey(configured.Id, configured.Name, hash, configured.Task, DateTimeOffset.MinValue);
            }
        }

        foreach (var key in _state.Current.Keys)
        {
            keys[key.Sha256] = key;
        }

        return keys.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
