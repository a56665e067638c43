namespace Tao.Gateway.Settings;

/// <summary>The gateway's own settings.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Tao:Gateway";

    /// <summary>Addresses Kestrel listens on. Default: "http://127.0.0.1:8080".</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Names this instance in capture records. Default: the machine name.</summary>
    public string InstanceId { get; set; } = Environment.MachineName;

    /// <summary>Largest request body accepted, in bytes; larger ones get 413. Default: 8 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 8L * 1024 * 1024;

    /// <summary>Time allowed for a client to send its whole request body, in seconds; slower gets 408. Default: 30.</summary>
    public int RequestBodyTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// How often runtime state (aliases, models, clusters, keys) is reconciled with the store's gateway_state table, in
    /// seconds, so every replica behind a load balancer applies an admin change made on any of them. 0 keeps state local
    /// to this instance. Default: 2.
    /// </summary>
    public double StateSyncSeconds { get; set; } = 2;

    /// <summary>
    /// Seconds a new `tao gateway` process spends warming its request path (a throwaway gateway in the same process
    /// proxying calls to an in-process upstream, see Hosting/GatewayWarmUp) before it listens, so it serves at full
    /// speed from its first call; 0 starts listening at once, at a third of full speed for the first seconds. Default: 6.
    /// The native gateway (tao-gateway) has no JIT to warm and skips it.
    /// </summary>
    public double WarmUpSeconds { get; set; } = 6;

    /// <summary>Folder for runtime state (aliases, models, keys changed through the admin API). Default: ".tao/data/gateway".</summary>
    public string StatePath { get; set; } = Path.Combine(".tao", "data", "gateway");

    /// <summary>
    /// The gateway secret(s) that sign shared state and dashboard sessions, usually from the environment
    /// (Tao__Gateway__Secrets__0). Replicas behind one load balancer must share them; the first signs, all verify.
    /// Default: none, then <see cref="SecretFile"/>.
    /// </summary>
    public List<string> Secrets { get; set; } = [];

    /// <summary>File holding the gateway secret(s), one per line, generated with mode 0600 when missing. Default: "{StatePath}/gateway.secret".</summary>
    public string? SecretFile { get; set; }

    /// <summary>Whole-call deadline in seconds (request, upstream and the streamed answer); past it the call ends with 504. 0: none. Default: 600.</summary>
    public int RequestDeadlineSeconds { get; set; } = 600;

    /// <summary>
    /// Retries (not fallbacks) may add at most this share of a cluster's calls over the last 10 s, so a struggling
    /// upstream is not buried under retries of its own failures (Tao:Resilience sets who retries). Default: 20.
    /// </summary>
    public double RetryBudgetPercent { get; set; } = 20;

    /// <summary>Retries per second per cluster allowed whatever the traffic, so a quiet cluster can still retry. Default: 5.</summary>
    public double RetryBudgetMinPerSecond { get; set; } = 5;

    /// <summary>
    /// Client headers forwarded upstream besides the ones every upstream needs (Content-Type, Accept, User-Agent, …).
    /// Cookies and OpenAI-Organization / OpenAI-Project are dropped unless named here. Default: none.
    /// </summary>
    public List<string> ForwardHeaders { get; set; } = [];

    /// <summary>
    /// Prefixes an environment variable may have to be used as an upstream credential by a model added at runtime,
    /// besides "TAO_UPSTREAM_" which is always allowed (configured models may name any variable). Default: none more.
    /// </summary>
    public List<string> CredentialEnvPrefixes { get; set; } = [];

    /// <summary>Folder whose files a model added at runtime may name as its credential (ApiKeyFile). Default: "{StatePath}/credentials".</summary>
    public string? CredentialFolder { get; set; }

    /// <summary>
    /// How often each replica shares its per-key counts (rate limits, budgets) through the store, in seconds; the other
    /// replicas' traffic of about one interval can pass a limit before it is seen. 0 keeps limits per replica. Default: 1.
    /// </summary>
    public double LimitSyncSeconds { get; set; } = 1;

    /// <summary>
    /// Addresses of reverse proxies (TLS terminators, load balancers) whose X-Forwarded-Proto and X-Forwarded-For the
    /// gateway believes; the dashboard cookie is then Secure when the browser used HTTPS. Default: none.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];
}
