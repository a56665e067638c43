using System.Security.Cryptography;
using System.Text.Json;

namespace Tao.Storage.Embedded;

/// <summary>
/// The two users of the embedded HTTP endpoint: passwords from configuration, or generated once and kept in a file only
/// the owner may read, so a restarted store keeps the passwords dashboards were configured with.
/// </summary>
public sealed class EmbeddedHttpCredentials
{
    public const string FileName = "clickhouse-http-credentials.json";

    private EmbeddedHttpCredentials(EmbeddedHttpUser admin, EmbeddedHttpUser reader, string? file, IReadOnlyList<EmbeddedHttpUser> generated)
    {
        Admin = admin;
        Reader = reader;
        File = file;
        Generated = generated;
    }

    public EmbeddedHttpUser Admin { get; }

    public EmbeddedHttpUser Reader { get; }

    /// <summary>The file holding generated passwords, or null when both passwords came from configuration.</summary>
    public string? File { get; }

    /// <summary>The users whose passwords were generated just now: the caller prints those this once (never configured ones).</summary>
    public IReadOnlyList<EmbeddedHttpUser> Generated { get; }

    public IReadOnlyList<EmbeddedHttpUser> Users => [Admin, Reader];

    /// <summary>A random password: 128 bits as 32 hex characters (safe in URLs, headers and shells).</summary>
    public static string NewPassword() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The default file: beside the engine's folder (chDB owns the folder itself).</summary>
    public static string DefaultFile(string embeddedPath) =>
        Path.Combine(Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(embeddedPath))) ?? ".", FileName);

    /// <summary>Configured passwords where given; the others read from the credentials file, or generated and written to it.</summary>
    public static EmbeddedHttpCredentials Resolve(ClickHouseOptions options)
    {
        var adminPassword = Given(options.EmbeddedHttpPassword);
        var readerPassword = Given(options.EmbeddedHttpReaderPassword);
        string? file = null;
        var generated = new List<string>();
        if (adminPassword is null || readerPassword is null)
        {
            file = Given(options.EmbeddedHttpCredentialsFile) is { } configured ? Path.GetFullPath(configured) : DefaultFile(options.EmbeddedPath);
            var stored = Read(file);
            string Stored(string user)
            {
                if (stored.TryGetValue(user, out var password) && password.Length > 0)
                {
                    return password;
                }

                generated.Add(user);
                return stored[user] = NewPassword();
            }

            adminPassword ??= Stored(options.EmbeddedHttpUser);
            readerPassword ??= Stored(options.EmbeddedHttpReader);
            if (generated.Count > 0)
            {
                Write(file, stored);
            }
        }

        var admin = new EmbeddedHttpUser(options.EmbeddedHttpUser, adminPassword, false);
        var reader = new EmbeddedHttpUser(options.EmbeddedHttpReader, readerPassword, true);
        return new EmbeddedHttpCredentials(admin, reader, file, [.. new[] { admin, reader }.Where(u => generated.Contains(u.Name))]);
    }

    private static string? Given(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static Dictionary<string, string> Read(string file)
    {
        if (!System.IO.File.Exists(file))
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        RestrictToOwner(file); // a copy or an editor may have widened it
        try
        {
            return JsonSerializer.Deserialize(System.IO.File.ReadAllText(file), CredentialsJsonContext.Default.DictionaryStringString) is { } users
                ? new Dictionary<string, string>(users, StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"{file} is not a JSON object of user names and passwords ({e.Message}); fix it, or delete it to generate new passwords", e);
        }
    }

    /// <summary>Writes a new file readable by the owner alone from its creation (no moment with wider rights), then moves it in place.</summary>
    private static void Write(string file, Dictionary<string, string> users)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var temporary = file + ".tmp-" + Environment.ProcessId;
        var create = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, create))
        {
            JsonSerializer.Serialize(stream, users, CredentialsJsonContext.Default.DictionaryStringString);
        }

        RestrictToOwner(temporary); // FileMode.Create keeps the mode of a leftover temporary file
        System.IO.File.Move(temporary, file, overwrite: true);
    }

    private static void RestrictToOwner(string file)
    {
        if (!OperatingSystem.IsWindows())
        {
            System.IO.File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}

/// <summary>The credentials file's JSON (user name → password, indented), generated at build time.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(WriteIndented = true)]
[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class CredentialsJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
