namespace Tao.Storage;

/// <summary>Where captures and analytics live: a ClickHouse server, or the embedded engine by default.</summary>
public sealed class ClickHouseOptions
{
    public const string Section = "Tao:ClickHouse";
    public const string DefaultEmbeddedHttpUser = "tao";
    public const string DefaultEmbeddedHttpReader = "reader";

    /// <summary>HTTP URL of a ClickHouse server (e.g. http://clickhouse:8123). Default: empty, meaning the embedded engine.</summary>
    public string? Url { get; set; }

    /// <summary>Database holding Tao's tables. Default: "tao".</summary>
    public string Database { get; set; } = "tao";

    /// <summary>User for a server (for a store served by another Tao process, its EmbeddedHttpUser: "tao"). Default: "default".</summary>
    public string Username { get; set; } = "default";

    /// <summary>Password for a server. Default: empty.</summary>
    public string? Password { get; set; }

    /// <summary>Folder of the embedded engine's data; it survives restarts. Default: ".tao/data/clickhouse".</summary>
    public string EmbeddedPath { get; set; } = Path.Combine(".tao", "data", "clickhouse");

    /// <summary>
    /// When above zero, the embedded engine also answers ClickHouse's HTTP interface on 127.0.0.1 at this port,
    /// so clickhouse-client, Grafana or any HTTP client can query the store. Every request but /ping must then name
    /// one of two users (<see cref="EmbeddedHttpUser"/>, <see cref="EmbeddedHttpReader"/>) with its password: any
    /// local process or a browser page could otherwise read every captured prompt. Default: 0 (off).
    /// </summary>
    public int EmbeddedHttpPort { get; set; }

    /// <summary>User of the embedded HTTP endpoint with full rights (reads, writes, DDL). Default: "tao".</summary>
    public string EmbeddedHttpUser { get; set; } = DefaultEmbeddedHttpUser;

    /// <summary>
    /// Password of <see cref="EmbeddedHttpUser"/>. Default: empty, meaning one is generated on the first start and
    /// kept in <see cref="EmbeddedHttpCredentialsFile"/>; the command that started the endpoint prints it once.
    /// </summary>
    public string? EmbeddedHttpPassword { get; set; }

    /// <summary>
    /// Read-only user of the embedded HTTP endpoint, for dashboards and clients: its queries run with readonly=1, so
    /// the engine refuses writes, DDL, SET and table functions that reach files or the network. Default: "reader".
    /// </summary>
    public string EmbeddedHttpReader { get; set; } = DefaultEmbeddedHttpReader;

    /// <summary>Password of <see cref="EmbeddedHttpReader"/>. Default: empty, meaning generated and kept like the other.</summary>
    public string? EmbeddedHttpReaderPassword { get; set; }

    /// <summary>
    /// Where generated passwords of the embedded HTTP endpoint are kept (JSON, file mode 0600), so they survive restarts.
    /// Default: empty, meaning "clickhouse-http-credentials.json" beside the <see cref="EmbeddedPath"/> folder.
    /// </summary>
    public string? EmbeddedHttpCredentialsFile { get; set; }

    /// <summary>
    /// CPU priority of the embedded engine's own (native) threads as a Linux nice value, 0 (normal) to 19 (lowest).
    /// Default: 10, so inserts and merges yield the cores to the proxy under load (the spool absorbs the lag
    /// meanwhile). Needs CAP_SYS_NICE; without it the engine runs at normal priority and the gateway says so.
    /// </summary>
    public int EmbeddedNice { get; set; } = 10;

    /// <summary>
    /// Cluster name for ON CLUSTER DDL with replicated tables and a Distributed table over them. Default: empty (single node).
    /// </summary>
    public string? Cluster { get; set; }

    /// <summary>Days request and response bodies are kept; metadata stays. Default: 90. 0 keeps them forever.</summary>
    public int BodyRetentionDays { get; set; } = 90;

    /// <summary>Per-query time limit for analytics reads, in seconds. Default: 30.</summary>
    public int QueryTimeoutSeconds { get; set; } = 30;

    /// <summary>Per-query memory limit for analytics reads, in bytes. Default: 2 GiB.</summary>
    public long QueryMaxMemoryBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    public bool IsEmbedded => string.IsNullOrWhiteSpace(Url);

    public void Validate()
    {
        if (!Identifier.IsValid(Database))
        {
            throw new ArgumentException($"{Section}:Database '{Database}' is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)");
        }

        if (Cluster is { Length: > 0 } && !Identifier.IsValid(Cluster))
        {
            throw new ArgumentException($"{Section}:Cluster '{Cluster}' is not a plain identifier");
        }

        if (EmbeddedNice is < 0 or > 19)
        {
            throw new ArgumentException($"{Section}:EmbeddedNice must be between 0 and 19");
        }

        if (EmbeddedHttpPort is < 0 or > 65535)
        {
            throw new ArgumentException($"{Section}:EmbeddedHttpPort must be between 0 (off) and 65535");
        }

        if (string.IsNullOrWhiteSpace(EmbeddedHttpUser) || string.IsNullOrWhiteSpace(EmbeddedHttpReader) ||
            string.Equals(EmbeddedHttpUser, EmbeddedHttpReader, StringComparison.Ordinal) || EmbeddedHttpUser.Contains(':') || EmbeddedHttpReader.Contains(':'))
        {
            throw new ArgumentException($"{Section}:EmbeddedHttpUser and {Section}:EmbeddedHttpReader must be two different names without ':'");
        }

        if (!IsEmbedded && !Uri.TryCreate(Url, UriKind.Absolute, out _))
        {
            throw new ArgumentException($"{Section}:Url '{Url}' is not an absolute URL");
        }
    }
}
