namespace Tao.Gateway.Capture;

/// <summary>What the gateway puts into capture records.</summary>
public sealed class CaptureOptions
{
    public const string Section = "Tao:Capture";

    /// <summary>Capture proxied calls. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Request and response bodies longer than this (bytes) are cut in the record and flagged. Default: 256 KiB.</summary>
    public int MaxBodyBytes { get; set; } = 256 * 1024;

    /// <summary>JSON property names removed from the captured request wherever they appear. Default: api_key, apiKey, password, secret, authorization.</summary>
    public List<string> SecretFields { get; set; } = ["api_key", "apiKey", "password", "secret", "authorization"];

    /// <summary>Masking applied to prompts, responses and the request before a record is written.</summary>
    public RedactionOptions Redaction { get; set; } = new();

    /// <summary>
    /// Ask upstreams for usage on streamed chat calls (stream_options.include_usage), so token counts are exact
    /// rather than estimated. The client then also receives the final usage chunk. Default: false.
    /// </summary>
    public bool RequestStreamUsage { get; set; }

    /// <summary>
    /// What happens to a new call while the spool is full (its sinks down long enough to fill the disk budget):
    /// Drop — answer it and count the record as dropped (availability first); Refuse — answer 503, for users who must
    /// never answer a call they did not record. Default: Drop.
    /// </summary>
    public SpoolFullPolicy WhenSpoolFull { get; set; } = SpoolFullPolicy.Drop;
}
