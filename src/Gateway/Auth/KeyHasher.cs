using System.Security.Cryptography;
using System.Text;

namespace Tao.Gateway.Auth;

/// <summary>
/// Keys are 256-bit random strings, so a plain SHA-256 is the right stored form: there is nothing to brute-force
/// that a slow hash would protect, and lookups stay O(1) per request.
/// </summary>
internal static class KeyHasher
{
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static string NewKey() => "sk-tao-" + Base62(RandomNumberGenerator.GetBytes(32));

    public static string NewId() => "key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    public static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private static string Base62(byte[] bytes)
    {
        const string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        var value = new System.Numerics.BigInteger(bytes, isUnsigned: true);
        var text = new StringBuilder();
        while (value > 0)
        {
            text.Insert(0, alphabet[(int)(value % 62)]);
            value /= 62;
        }

        return text.ToString().PadLeft(43, '0');
    }
}
