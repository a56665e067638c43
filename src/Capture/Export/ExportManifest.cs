namespace Tao.Capture.Export;

/// <summary>What an export wrote: written beside the file as NAME.manifest.json.</summary>
public sealed record ExportManifest(int SchemaVersion, string Format, IReadOnlyDictionary<string, string> Filters, IReadOnlyDictionary<string, long> Counts,
    string Sha256, long Bytes, DateTime CreatedAt);
