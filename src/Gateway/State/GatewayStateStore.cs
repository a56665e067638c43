using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;
using Tao.Gateway.Settings;

namespace Tao.Gateway.State;

/// <summary>
/// Holds <see cref="GatewayState"/> and keeps it in one JSON file, replaced atomically (write, fsync, rename), so a
/// restart — even with the store unreachable — serves the last known routing. <see cref="GatewayStateSync"/> reconciles
/// it with the other replicas through the store.
/// </summary>
internal sealed class GatewayStateStore
{
    private static JsonTypeInfo<GatewayState> Json => GatewayStateJsonContext.Default.GatewayState;
    private readonly string _path;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private GatewayState _state;

    public GatewayStateStore(IOptions<GatewayOptions> options, TimeProvider time)
    {
        _time = time;
        Directory.CreateDirectory(options.Value.StatePath);
        _path = Path.Combine(options.Value.StatePath, "state.json");
        _state = File.Exists(_path)
            ? JsonSerializer.Deserialize(File.ReadAllBytes(_path), Json) ?? new GatewayState()
            : new GatewayState();
    }

    /// <summary>Raised after a local change is on disk (the sync pushes it to the other replicas).</summary>
    public event Action<GatewayState>? Updated;

    /// <summary>Raised after a newer state from another replica replaced this one (routing, clusters and keys rebuild).</summary>
    public event Action<GatewayState>? Replaced;

    /// <summary>Applies a change and persists it before returning; the change is visible only once it is on disk.</summary>
    public GatewayState Update(Action<GatewayState> change)
    {
        GatewayState copy;
        lock (_gate)
        {
            copy = Clone(_state);
            change(copy);
            copy.Version = Math.Max(_state.Version + 1, (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10);
            Persist(copy);
            _state = copy;
        }

        Updated?.Invoke(copy);
        return copy;
    }

    /// <summary>Adopts a state from another replica when it is newer than this one. True when it was adopted.</summary>
    public bool Adopt(GatewayState shared)
    {
        lock (_gate)
        {
            if (shared.Version <= _state.Version)
            {
                return false;
            }

            Persist(shared);
            _state = shared;
        }

        Replaced?.Invoke(shared);
        return true;
    }

    public GatewayState Current
    {
        get { lock (_gate) { return _state; } }
    }

    public static string Serialize(GatewayState state) => JsonSerializer.Serialize(state, Json);

    public static GatewayState Deserialize(string json) => JsonSerializer.Deserialize(json, Json) ?? new GatewayState();

    private static GatewayState Clone(GatewayState state) => JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(state, Json), Json)!;

    private void Persist(GatewayState state)
    {
        var temp = _path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            JsonSerializer.Serialize(stream, state, Json);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, _path, overwrite: true);
    }
}

/// <summary>The state file's JSON (camelCase, indented), generated at build time.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(GatewayState))]
internal sealed partial class GatewayStateJsonContext : JsonSerializerContext;
