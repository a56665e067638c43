using Tao.Gateway.State;

namespace Tao.Gateway.Auth;

/// <summary>Who may call the gateway: API keys for /v1, an admin key for /admin.</summary>
public sealed class AuthOptions
{
    public const string Section = "Tao:Auth";

    /// <summary>Accept /v1 calls without a key (local development and the demo only). Default: false.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>The admin key in clear, usually from the environment (Tao__Auth__AdminKey). Default: none.</summary>
    public string? AdminKey { get; set; }

    /// <summary>SHA-256 (hex) of the admin key, for configuration files that must not hold it. Default: none.</summary>
    public string? AdminKeySha256 { get; set; }

    /// <summary>Limits for every key that sets none of its own (each limit separately). Default: none.</summary>
    public KeyLimits DefaultLimits { get; set; } = new();

    /// <summary>Lifetime of a dashboard session, in hours (at most 24 × 7). Default: 12.</summary>
    public double DashboardSessionHours { get; set; } = 12;

    /// <summary>API keys from configuration; more are created at runtime through /admin/keys.</summary>
    public List<ApiKeyOptions> Keys { get; set; } = [];
}
