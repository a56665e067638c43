using Tao.Gateway.State;

namespace Tao.Gateway.Auth;

/// <summary>An API key in configuration: stored as its SHA-256, with an id, a name and what it may do.</summary>
public sealed class ApiKeyOptions
{
    public string Id { get; set; } = string.Empty;
    public string Name { get; set; } = string.Empty;

    /// <summary>SHA-256 (hex) of the key.</summary>
    public string? Sha256 { get; set; }

    /// <summary>The key in clear, for development only; hashed at load and never kept.</summary>
    public string? Key { get; set; }

    /// <summary>The key's task: every call made with it is filed under it, and naming another task is refused. Default: none (unscoped).</summary>
    public string? Task { get; set; }

    /// <summary>Further tasks the key may name (x-tao-task or metadata.task). Default: none.</summary>
    public List<string> Tasks { get; set; } = [];

    /// <summary>Models or aliases the key may call. Default: empty, every model.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>May the key turn capture off per call (x-tao-capture: off) or choose its redaction. Default: false.</summary>
    public bool CaptureControl { get; set; }

    /// <summary>Redact secrets in this key's captured text; unset follows Tao:Capture:Redaction.</summary>
    public bool? Redact { get; set; }

    /// <summary>Rate, concurrency, spend and body-size limits; unset ones come from Tao:Auth:DefaultLimits.</summary>
    public KeyLimits Limits { get; set; } = new();
}
