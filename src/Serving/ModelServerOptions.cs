namespace Tao.Serving;

/// <summary>The model server: which checkpoints it serves and how it batches.</summary>
public sealed class ModelServerOptions
{
    public const string Section = "Tao:Serve";

    /// <summary>Addresses to listen on. Default: "http://127.0.0.1:8000".</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8000";

    /// <summary>Models to load at start: name to checkpoint folder.</summary>
    public Dictionary<string, string> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Most sequences decoded together. Default: 32.</summary>
    public int MaxBatch { get; set; } = 32;

    /// <summary>How long the first request of a batch waits for company, in milliseconds. Default: 4.</summary>
    public int BatchWindowMs { get; set; } = 4;

    /// <summary>Key for /admin (loading and unloading models). Default: none (admin API off).</summary>
    public string? AdminKey { get; set; }

    /// <summary>Default for max_tokens when a request names none. Default: 64.</summary>
    public int DefaultMaxTokens { get; set; } = 64;
}
