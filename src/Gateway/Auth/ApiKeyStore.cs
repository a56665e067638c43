using System.Collections.Frozen;
using Microsoft.Extensions.Options;
using Tao.Gateway.State;

namespace Tao.Gateway.Auth;

/// <summary>Gateway API keys by hash: configured ones plus those created through the admin API.</summary>
internal sealed class ApiKeyStore
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
    public (ApiKey Key, string Secret) Create(string name, string? task, Func<ApiKey, ApiKey>? policy = null)
    {
        var secret = KeyHasher.NewKey();
        var key = new ApiKey(KeyHasher.NewId(), name, KeyHasher.Hash(secret), task, _time.GetUtcNow());
        key = policy?.Invoke(key) ?? key;
        _state.Update(s => s.Keys.Add(key));
        Volatile.Write(ref _byHash, Build());
        return (key, secret);
    }

    /// <summary>Changes what a runtime key may do; false when there is no runtime key with that id.</summary>
    public ApiKey? Change(string id, Func<ApiKey, ApiKey> change)
    {
        ApiKey? changed = null;
        if (!_state.Current.Keys.Any(k => k.Id == id))
        {
            return null;
        }

        _state.Update(s =>
        {
            var index = s.Keys.FindIndex(k => k.Id == id);
            if (index >= 0)
            {
                changed = change(s.Keys[index]) with { Id = s.Keys[index].Id, Sha256 = s.Keys[index].Sha256, CreatedAt = s.Keys[index].CreatedAt };
                s.Keys[index] = changed;
            }
        });
        Volatile.Write(ref _byHash, Build());
        return changed;
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
                // A key without an id would share its limits, and its calls' ownership, with every other such key.
                var id = string.IsNullOrWhiteSpace(configured.Id) ? "key_" + hash[..12] : configured.Id;
                keys[hash] = new ApiKey(id, configured.Name, hash, string.IsNullOrWhiteSpace(configured.Task) ? null : configured.Task, DateTimeOffset.MinValue)
                {
                    Tasks = configured.Tasks, Models = configured.Models, CaptureControl = configured.CaptureControl, Redact = configured.Redact,
                    Limits = configured.Limits,
                };
            }
        }

        foreach (var key in _state.Current.Keys)
        {
            keys[key.Sha256] = key;
        }

        return keys.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
