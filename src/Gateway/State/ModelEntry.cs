using Tao.Gateway.OpenAi;
using Tao.Gateway.Settings;

namespace Tao.Gateway.State;

/// <summary>Where a model name is served: a YARP cluster, the model name the upstream knows, its credentials.</summary>
public sealed class ModelEntry
{
    /// <summary>YARP cluster id (from the ReverseProxy section, or added at runtime).</summary>
    public string Cluster { get; set; } = string.Empty;

    /// <summary>Model name sent upstream. Default: the entry's own name.</summary>
    public string? UpstreamModel { get; set; }

    /// <summary>
    /// The API the upstream speaks: "openai" (default; Chat Completions, Completions, Embeddings, Responses) or
    /// "anthropic" (Messages). It decides how the credential is sent and which of the gateway's surfaces may call the
    /// model: the gateway forwards bodies as they are and does not translate between APIs.
    /// </summary>
    public string? Api { get; set; }

    /// <summary>The anthropic-version header sent to an Anthropic upstream, replacing the client's. Default: 2023-06-01.</summary>
    public string? AnthropicVersion { get; set; }

    /// <summary>Upstream credential: "Authorization: Bearer" for OpenAI upstreams, "x-api-key" for Anthropic ones. Prefer <see cref="ApiKeyEnv"/>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Environment variable holding the upstream credential (for models added at runtime: TAO_UPSTREAM_* or an allowed prefix).</summary>
    public string? ApiKeyEnv { get; set; }

    /// <summary>File holding the upstream credential (for models added at runtime: inside the credentials folder).</summary>
    public string? ApiKeyFile { get; set; }

    /// <summary>Version label recorded with every call (e.g. "base", "r3"). Default: empty.</summary>
    public string? Version { get; set; }

    /// <summary>Tokenizer for estimating usage when the upstream reports none: o200k_base (default) or cl100k_base.</summary>
    public string? Tokenizer { get; set; }

    /// <summary>Owner shown by /v1/models. Default: "tao".</summary>
    public string? OwnedBy { get; set; }

    public const string DefaultAnthropicVersion = "2023-06-01";

    /// <summary><see cref="Api"/> parsed; an unknown value reads as OpenAI (the gateway refuses to start with one configured, and configuration checks and the admin API refuse one).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public UpstreamApi UpstreamApi => string.Equals(Api, "anthropic", StringComparison.OrdinalIgnoreCase) ? UpstreamApi.Anthropic : UpstreamApi.OpenAI;

    /// <summary>Why <see cref="Api"/> is not a known API, or null.</summary>
    public string? ApiProblem() =>
        Api is null || string.Equals(Api, "openai", StringComparison.OrdinalIgnoreCase) || string.Equals(Api, "anthropic", StringComparison.OrdinalIgnoreCase)
            ? null
            : $"api must be 'openai' or 'anthropic', not '{Api}'.";

    public string UpstreamName(string entryName) => string.IsNullOrEmpty(UpstreamModel) ? entryName : UpstreamModel;

    /// <summary>The credential to send upstream, or null to send none.</summary>
    public string? Credential() =>
        !string.IsNullOrEmpty(ApiKey) ? ApiKey
        : !string.IsNullOrEmpty(ApiKeyEnv) ? Environment.GetEnvironmentVariable(ApiKeyEnv)
        : !string.IsNullOrEmpty(ApiKeyFile) && File.Exists(ApiKeyFile) ? File.ReadAllText(ApiKeyFile).Trim()
        : null;

    /// <summary>
    /// Why this entry may not be stored as runtime state (null when it may): a credential in clear would be kept in
    /// the state file and the shared store, and an arbitrary variable or file name would let whoever can change
    /// routing send any of the gateway's secrets (the admin key's variable included) to an upstream of their choice.
    /// </summary>
    public string? RuntimeCredentialProblem(GatewayOptions options)
    {
        if (!string.IsNullOrEmpty(ApiKey))
        {
            return "Runtime models do not take a credential in clear: set apiKeyEnv (a TAO_UPSTREAM_* environment variable) or apiKeyFile (a file in the gateway's credentials folder).";
        }

        if (!string.IsNullOrEmpty(ApiKeyEnv) && !AllowedPrefixes(options).Any(p => ApiKeyEnv.StartsWith(p, StringComparison.Ordinal)))
        {
            return $"apiKeyEnv must name a variable starting with {string.Join(" or ", AllowedPrefixes(options))}.";
        }

        if (!string.IsNullOrEmpty(ApiKeyFile))
        {
            var folder = Path.GetFullPath(options.CredentialFolder ?? Path.Combine(options.StatePath, "credentials")) + Path.DirectorySeparatorChar;
            var full = Path.GetFullPath(ApiKeyFile, folder);
            if (!full.StartsWith(folder, StringComparison.Ordinal) || (File.Exists(full) && File.ResolveLinkTarget(full, returnFinalTarget: false) is not null))
            {
                return $"apiKeyFile must be a file in the gateway's credentials folder ({folder}).";
            }

            ApiKeyFile = full;
        }

        return null;
    }

    private static IEnumerable<string> AllowedPrefixes(GatewayOptions options) => options.CredentialEnvPrefixes.Prepend("TAO_UPSTREAM_");

    /// <summary>A copy without the credential in clear, for admin listings.</summary>
    public ModelEntry Redacted() => new()
    {
        Cluster = Cluster, UpstreamModel = UpstreamModel, ApiKey = string.IsNullOrEmpty(ApiKey) ? null : "***",
        ApiKeyEnv = ApiKeyEnv, ApiKeyFile = ApiKeyFile, Version = Version, Tokenizer = Tokenizer, OwnedBy = OwnedBy,
        Api = Api, AnthropicVersion = AnthropicVersion,
    };
}
