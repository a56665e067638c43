namespace Tao.Gateway.Routing;

/// <summary>Where a model name is served: a YARP cluster, the model name the upstream knows, its credentials.</summary>
public sealed class ModelEntry
{
    /// <summary>YARP cluster id (from the ReverseProxy section, or added at runtime).</summary>
    public string Cluster { get; set; } = string.Empty;

    /// <summary>Model name sent upstream. Default: the entry's own name.</summary>
    public string? UpstreamModel { get; set; }

    /// <summary>Upstream credential sent as "Authorization: Bearer". Prefer <see cref="ApiKeyEnv"/>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Environment variable holding the upstream credential.</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>Version label recorded with every call (e.g. "base", "r3"). Default: empty.</summary>
    public string? Version { get; set; }

    /// <summary>Tokenizer for estimating usage when the upstream reports none: o200k_base (default) or cl100k_base.</summary>
    public string? Tokenizer { get; set; }

    /// <summary>Owner shown by /v1/models. Default: "tao".</summary>
    public string? OwnedBy { get; set; }

    public string UpstreamName(string entryName) => string.IsNullOrEmpty(UpstreamModel) ? entryName : UpstreamModel;

    /// <summary>The credential to send upstream, or null to send none.</summary>
    public string? Credential() =>
        !string.IsNullOrEmpty(ApiKey) ? ApiKey
        : !string.IsNullOrEmpty(ApiKeyEnv) ? Environment.GetEnvironmentVariable(ApiKeyEnv)
        : null;

    /// <summary>A copy without the credential in clear, for admin listings.</summary>
    public ModelEntry Redacted() => new()
    {
        Cluster = Cluster, UpstreamModel = UpstreamModel, ApiKey = string.IsNullOrEmpty(ApiKey) ? null : "***",
        ApiKeyEnv = ApiKeyEnv, Version = Version, Tokenizer = Tokenizer, OwnedBy = OwnedBy,
    };
}
