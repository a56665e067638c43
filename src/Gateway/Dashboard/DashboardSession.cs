using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Tao.Gateway.Auth;

namespace Tao.Gateway.Dashboard;

/// <summary>
/// The dashboard's login: the admin key, typed once into a form, becomes a signed, expiring, HttpOnly SameSite=Strict
/// cookie, so the key itself is never kept by the browser or put in a URL. The signature is keyed by the admin key's
/// hash, so every gateway replica accepts the cookie and changing the admin key ends every session. The cookie
/// authorizes only reads (the dashboard page and GET /admin/analytics); changes still need the key itself.
/// </summary>
internal sealed class DashboardSession(IOptionsMonitor<AuthOptions> options, TimeProvider time)
{
    public const string CookieName = "tao_dashboard";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    public string? Issue()
    {
        if (Secret() is not { } secret)
        {
            return null;
        }

        var expires = time.GetUtcNow().Add(Lifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"{expires}.{Sign(secret, expires)}";
    }

    public bool IsValid(string? token)
    {
        if (string.IsNullOrEmpty(token) || Secret() is not { } secret)
        {
            return false;
        }

        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !long.TryParse(token.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || expires < time.GetUtcNow().ToUnixTimeSeconds())
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(secret, token[..dot]));
        var presented = Encoding.ASCII.GetBytes(token[(dot + 1)..]);
        return CryptographicOperations.FixedTimeEquals(expected, presented);
    }

    private byte[]? Secret()
    {
        var current = options.CurrentValue;
        var hash = !string.IsNullOrEmpty(current.AdminKeySha256) ? current.AdminKeySha256.ToLowerInvariant()
            : !string.IsNullOrEmpty(current.AdminKey) ? KeyHasher.Hash(current.AdminKey)
            : null;
        return hash is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes("tao-dashboard-session:" + hash));
    }

    private static string Sign(byte[] secret, string expires) =>
        Convert.ToBase64String(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(expires))).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
