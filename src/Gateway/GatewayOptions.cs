namespace Tao.Gateway;

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

    /// <summary>Folder for runtime state (aliases, models, keys changed through the admin API). Default: ".tao/data/gateway".</summary>
    public string StatePath { get; set; } = Path.Combine(".tao", "data", "gateway");
}
