using System.Security.Cryptography;
using System.Text;

namespace Tao.Storage.Embedded;

/// <summary>
/// Who is calling the embedded HTTP endpoint, by the three ways ClickHouse's HTTP interface accepts credentials:
/// HTTP Basic auth, the X-ClickHouse-User / X-ClickHouse-Key headers, and the user / password URL parameters
/// (official clients use each). As on a server, one request may use only one of them.
/// </summary>
internal static class EmbeddedHttpAuthentication
{
    /// <summary>The authenticated user, or null with the answer to send instead in <paramref name="refusal"/>.</summary>
    public static EmbeddedHttpUser? Authenticate(
        EmbeddedHttpCredentials credentials, string? authorization, string? headerUser, string? headerKey,
        IReadOnlyList<KeyValuePair<string, string>> query, out ClickHouseHttpResponse? refusal)
    {
        refusal = null;
        string? queryUser = null, queryPassword = null;
        foreach (var (name, value) in query)
        {
            if (name == "user")
            {
                queryUser = value;
            }
            else if (name == "password")
            {
                queryPassword = value;
            }
        }

        var hasHeaders = !string.IsNullOrEmpty(headerUser) || !string.IsNullOrEmpty(headerKey);
        var hasAuthorization = !string.IsNullOrEmpty(authorization);
        var hasParameters = queryUser is not null || queryPassword is not null;
        string user, password;
        if (hasHeaders)
        {
            if (hasAuthorization || hasParameters)
            {
                refusal = Failed("Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers and "
                    + $"{(hasAuthorization ? "Authorization HTTP header" : "authentication via parameters")} simultaneously");
                return null;
            }

            (user, password) = (headerUser ?? string.Empty, headerKey ?? string.Empty);
        }
        else if (hasAuthorization)
        {
            if (hasParameters)
            {
                refusal = Failed("Invalid authentication: it is not allowed to use Authorization HTTP header and authentication via parameters simultaneously");
                return null;
            }

            if (Basic(authorization!) is not { } basic)
            {
                var scheme = authorization!.Split(' ', 2)[0];
                refusal = Failed(scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)
                    ? "Invalid authentication: the Basic credentials are not base64 of user:password"
                    : $"Invalid authentication: '{scheme}' HTTP Authorization scheme is not supported");
                return null;
            }

            (user, password) = basic;
        }
        else if (hasParameters)
        {
            (user, password) = (queryUser ?? "default", queryPassword ?? string.Empty);
        }
        else
        {
            // No credentials at all: 401 with a Basic challenge, so curl -u and browsers know what to send.
            refusal = ClickHouseHttpResponse.Error(516, AuthenticationFailed("default"), status: 401);
            refusal.Headers["WWW-Authenticate"] = "Basic realm=\"ClickHouse\", charset=\"UTF-8\"";
            return null;
        }

        if (user.Length == 0)
        {
            refusal = Failed("Got an empty user name");
            return null;
        }

        // Every user is compared, and passwords by their hashes in fixed time: the answer's timing says nothing about the password.
        var given = SHA256.HashData(Encoding.UTF8.GetBytes(password));
        EmbeddedHttpUser? match = null;
        foreach (var candidate in credentials.Users)
        {
            var samePassword = CryptographicOperations.FixedTimeEquals(given, SHA256.HashData(Encoding.UTF8.GetBytes(candidate.Password)));
            if (samePassword & string.Equals(candidate.Name, user, StringComparison.Ordinal))
            {
                match = candidate;
            }
        }

        if (match is null)
        {
            refusal = Failed(AuthenticationFailed(user));
        }

        return match;
    }

    /// <summary>What a ClickHouse server answers for a wrong password or an unknown user (it does not say which).</summary>
    private static string AuthenticationFailed(string user) =>
        $"{Printable(user)}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)";

    // A server answers 516 with 403 Forbidden (exceptionCodeToHTTPStatus); only a request without credentials gets 401.
    private static ClickHouseHttpResponse Failed(string message) =>
        ClickHouseHttpResponse.Error(516, message.EndsWith("(AUTHENTICATION_FAILED)", StringComparison.Ordinal) ? message : message + ". (AUTHENTICATION_FAILED)");

    private static (string User, string Password)? Basic(string authorization)
    {
        var parts = authorization.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !parts[0].Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(parts[1]));
            var colon = decoded.IndexOf(':');
            return colon < 0 ? null : (decoded[..colon], decoded[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>The user name as echoed in the error: at most 64 printable characters (it is the caller's input).</summary>
    private static string Printable(string user)
    {
        var text = new string([.. user.Take(64).Select(c => char.IsControl(c) ? '?' : c)]);
        return user.Length > 64 ? text + "…" : text;
    }
}
