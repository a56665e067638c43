using System.Security.Cryptography;
using System.Text.Json;

namespace Tao.Trainer.Registry;

/// <summary>
/// Model versions on disk: each in versions/&lt;id&gt;/ with its files and version.json (lineage, data window, scorer,
/// evaluation, decision, checksums). Files are checked against their checksums whenever a version is loaded.
/// </summary>
public sealed class ModelRegistry(string root)
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Lock _gate = new();

    public string Root { get; } = root;

    public string Folder(string id) => Path.Combine(Root, "versions", id);

    /// <summary>Copies a model folder in as a new version and records its checksums.</summary>
    public ModelVersion Register(string sourceFolder, ModelVersion version)
    {
        if (!Storage.Identifier.IsValid(version.Id.Replace('-', '_').Replace('.', '_')))
        {
            throw new ArgumentException($"version id '{version.Id}' is not a plain name");
        }

        var target = Folder(version.Id);
        var staging = target + ".registering";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(staging);
        foreach (var file in Directory.EnumerateFiles(sourceFolder).Where(f => Path.GetFileName(f) != "version.json"))
        {
            File.Copy(file, Path.Combine(staging, Path.GetFileName(file)));
        }

        var registered = version with { Checksums = Checksums(staging) };
        Write(staging, registered);
        lock (_gate)
        {
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }

            Directory.Move(staging, target);
        }

        return registered;
    }

    public ModelVersion? Get(string id)
    {
        var path = Path.Combine(Folder(id), "version.json");
        return File.Exists(path) ? JsonSerializer.Deserialize<ModelVersion>(File.ReadAllText(path), s_json) : null;
    }

    public IReadOnlyList<ModelVersion> List() =>
        Directory.Exists(Path.Combine(Root, "versions"))
            ? Directory.EnumerateDirectories(Path.Combine(Root, "versions")).Where(d => !d.EndsWith(".registering", StringComparison.Ordinal))
                .Select(d => Get(Path.GetFileName(d))).OfType<ModelVersion>().OrderBy(v => v.CreatedAt).ToList()
            : [];

    public ModelVersion Update(string id, Func<ModelVersion, ModelVersion> change)
    {
        lock (_gate)
        {
            var updated = change(Get(id) ?? throw new KeyNotFoundException($"no version '{id}'"));
            Write(Folder(id), updated);
            return updated;
        }
    }

    /// <summary>The chain of versions from the base to <paramref name="id"/>.</summary>
    public IReadOnlyList<ModelVersion> Lineage(string id)
    {
        var chain = new List<ModelVersion>();
        for (var current = Get(id); current is not null && chain.Count < 1000; current = current.Parent is null ? null : Get(current.Parent))
        {
            chain.Insert(0, current);
        }

        return chain;
    }

    /// <summary>Throws when a file of the version is missing or differs from the checksum recorded at registration.</summary>
    public void Verify(string id)
    {
        var version = Get(id) ?? throw new KeyNotFoundException($"no version '{id}'");
        var actual = Checksums(Folder(id));
        foreach (var (file, expected) in version.Checksums)
        {
            if (!actual.TryGetValue(file, out var found) || found != expected)
            {
                throw new InvalidDataException($"version {id}: {file} {(found is null ? "is missing" : "does not match its checksum")}");
            }
        }
    }

    public static Dictionary<string, string> Checksums(string folder) =>
        Directory.EnumerateFiles(folder).Where(f => Path.GetFileName(f) != "version.json").Order(StringComparer.Ordinal)
            .ToDictionary(f => Path.GetFileName(f), f =>
            {
                using var stream = File.OpenRead(f);
                return Convert.ToHexStringLower(SHA256.HashData(stream));
            }, StringComparer.Ordinal);

    private static void Write(string folder, ModelVersion version)
    {
        var temp = Path.Combine(folder, "version.json.tmp");
        File.WriteAllText(temp, JsonSerializer.Serialize(version, s_json));
        File.Move(temp, Path.Combine(folder, "version.json"), overwrite: true);
    }
}
