namespace Tao.Gateway.Auth;

/// <summary>An API key in configuration: stored as its SHA-256, with an id, a name and an optional task tag.</summary>
public sealed class ApiKeyOptions
{
    public string Id { get; set; } = string.Empty;
    public string Name { get; set; } = string.Empty;

    /// <summary>SHA-256 (hex) of the key.</summary>
    public string? Sha256 { get; set; }

    /// <summary>The key in clear, for development only; hashed at load and never kept.</summary>
    public string? Key { get; set; }

    /// <summary>Task tag given to every call made with this key, unless the call names one.</summary>
    public string? Task { get; set; }
}
