using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Tao.Gateway.Routing;

/// <summary>Loads and saves <see cref="GatewayState"/> as one JSON file, replaced atomically (write, fsync, rename).</summary>
public sealed class GatewayStateStore
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly string _path;
    private readonly Lock _gate = new();
    private GatewayState _state;

    public GatewayStateStore(IOptions<GatewayOptions> options)
    {
        Directory.CreateDirectory(options.Value.StatePath);
        _path = Path.Combine(options.Value.StatePath, "state.json");
        _state = File.Exists(_path)
            ? JsonSerializer.Deserialize<GatewayState>(File.ReadAllBytes(_path), s_json) ?? new GatewayState()
            : new GatewayState();
    }

    /// <summary>Applies a change and persists it before returning; the change is visible only once it is on disk.</summary>
    public GatewayState Update(Action<GatewayState> change)
    {
        lock (_gate)
        {
            var copy = JsonSerializer.Deserialize<GatewayState>(JsonSerializer.SerializeToUtf8Bytes(_state, s_json), s_json)!;
            change(copy);
            var temp = _path + ".tmp";
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                JsonSerializer.Serialize(stream, copy, s_json);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, _path, overwrite: true);
            _state = copy;
            return copy;
        }
    }

    public GatewayState Current
    {
        get { lock (_gate) { return _state; } }
    }
}
