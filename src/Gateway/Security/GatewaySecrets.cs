using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Tao.Gateway.Settings;

namespace Tao.Gateway.Security;

/// <summary>
/// The secret only gateways hold: it signs the shared routing state and dashboard sessions, so neither a row written
/// straight into the store nor a cookie made from what the configuration reveals is accepted. It is
/// <see cref="GatewayOptions.Secrets"/> when configured (every replica must be given the same ones), otherwise a file
/// (<see cref="GatewayOptions.SecretFile"/>) generated on first start with mode 0600. Several secrets, one per line,
/// rotate: the first signs, every one verifies; a changed file is picked up within a second.
/// </summary>
internal sealed class GatewaySecrets
{
    private readonly IOptionsMonitor<GatewayOptions> _options;
    private readonly Lock _gate = new();
    private byte[][] _secrets = [];
    private string _source = string.Empty;
    private DateTime _fileStamp;
    private long _checkedAt;

    public GatewaySecrets(IOptionsMonitor<GatewayOptions> options)
    {
        _options = options;
        Load(force: true);
        options.OnChange(_ => Load(force: true));
    }

    /// <summary>Where the secrets come from, for the startup log: "configuration" or the file's path.</summary>
    public string Source => _source;

    /// <summary>A base64url HMAC-SHA256 of <paramref name="data"/> under the current secret, bound to a purpose.</summary>
    public string Sign(string purpose, ReadOnlySpan<byte> data) => Encode(Mac(Current()[0], purpose, data));

    public string Sign(string purpose, string data) => Sign(purpose, Encoding.UTF8.GetBytes(data));

    /// <summary>True when <paramref name="signature"/> was made by any of the secrets for this purpose and data.</summary>
    public bool Verify(string purpose, ReadOnlySpan<byte> data, string? signature)
    {
        if (string.IsNullOrEmpty(signature))
        {
            return false;
        }

        var presented = Encoding.ASCII.GetBytes(signature);
        foreach (var secret in Current())
        {
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Encode(Mac(secret, purpose, data))), presented))
            {
                return true;
            }
        }

        return false;
    }

    public bool Verify(string purpose, string data, string? signature) => Verify(purpose, Encoding.UTF8.GetBytes(data), signature);

    /// <summary>Writes a new secret in front of the file's ones (the old keep verifying until removed) and returns the path.</summary>
    public static string Rotate(string path)
    {
        var existing = File.Exists(path) ? File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList() : [];
        existing.Insert(0, NewSecret());
        WritePrivate(path, string.Join('\n', existing) + "\n");
        return path;
    }

    private byte[][] Current()
    {
        var now = Environment.TickCount64;
        if (now - Volatile.Read(ref _checkedAt) > 1000)
        {
            Volatile.Write(ref _checkedAt, now);
            Load(force: false);
        }

        return Volatile.Read(ref _secrets);
    }

    private void Load(bool force)
    {
        lock (_gate)
        {
            var options = _options.CurrentValue;
            if (options.Secrets is { Count: > 0 } configured)
            {
                if (force || _source != "configuration")
                {
                    _secrets = configured.Select(Parse).ToArray();
                    _source = "configuration";
                }

                return;
            }

            var path = options.SecretFile ?? Path.Combine(options.StatePath, "gateway.secret");
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                WritePrivate(path, NewSecret() + "\n");
            }

            var stamp = File.GetLastWriteTimeUtc(path);
            if (!force && stamp == _fileStamp && _source == path)
            {
                return;
            }

            var lines = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            if (lines.Length == 0)
            {
                throw new InvalidOperationException($"The gateway secret file {path} is empty; delete it to generate a new one.");
            }

            _secrets = lines.Select(Parse).ToArray();
            _fileStamp = stamp;
            _source = path;
        }
    }

    private static byte[] Parse(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret.Trim());
        if (bytes.Length < 16)
        {
            throw new InvalidOperationException("A gateway secret must be at least 16 characters (tao generates 43).");
        }

        return bytes;
    }

    private static string NewSecret() => Encode(RandomNumberGenerator.GetBytes(32));

    private static void WritePrivate(string path, string content)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            // Owner-only before a byte of the secret is written.
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            stream.Write(Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static byte[] Mac(byte[] secret, string purpose, ReadOnlySpan<byte> data)
    {
        var key = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes("tao:" + purpose));
        return HMACSHA256.HashData(key, data);
    }

    private static string Encode(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
