using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Tao.Gateway.State;
using Tao.Gateway.Security;

namespace Tao.Gateway.Auth;

/// <summary>
/// The dashboard's login: the admin key, typed once into a form, becomes a signed, expiring, HttpOnly SameSite=Strict
/// cookie, so the key itself is never kept by the browser or put in a URL. The cookie is "id.expiry.signature",
/// signed with the gateway secret (<see cref="GatewaySecrets"/>: random, never derived from anything in the
/// configuration), so every replica that shares the secret accepts it and nothing outside the gateways can make one.
/// Its lifetime is bounded (<see cref="AuthOptions.DashboardSessionHours"/>); signing out revokes the id on every
/// replica through the shared gateway state. The cookie authorizes only reads (the dashboard page and GET
/// /admin/analytics); changes still need the key itself.
/// </summary>
internal sealed class DashboardSession(GatewaySecrets secrets, GatewayStateStore state, IOptionsMonitor<AuthOptions> options, TimeProvider time)
{
    public const string CookieName = "tao_dashboard";
    private const string Purpose = "dashboard-session";
    private static readonly TimeSpan s_longest = TimeSpan.FromDays(7);

    public TimeSpan Lifetime
    {
        get
        {
            var hours = options.CurrentValue.DashboardSessionHours;
            return hours > 0 ? TimeSpan.FromHours(Math.Min(hours, s_longest.TotalHours)) : TimeSpan.FromHours(12);
        }
    }

    public string Issue()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var expires = time.GetUtcNow().Add(Lifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var body = $"{id}.{expires}";
        return $"{body}.{secrets.Sign(Purpose, body)}";
    }

    public bool IsValid(string? token) => Read(token) is not null;

    /// <summary>Ends the session on every replica (its id is kept in the shared state until it would have expired).</summary>
    public void Revoke(string? token)
    {
        if (Read(token) is not { } session)
        {
            return;
        }

        var now = time.GetUtcNow();
        state.Update(s =>
        {
            foreach (var expired in s.RevokedSessions.Where(r => r.Value < now).Select(r => r.Key).ToList())
            {
                s.RevokedSessions.Remove(expired);
            }

            s.RevokedSessions[session.Id] = session.Expires;
        });
    }

    private (string Id, DateTimeOffset Expires)? Read(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 256)
        {
            return null;
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || !secrets.Verify(Purpose, $"{parts[0]}.{parts[1]}", parts[2]))
        {
            return null;
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(Math.Min(seconds, DateTimeOffset.MaxValue.ToUnixTimeSeconds()));
        var now = time.GetUtcNow();
        // Bounded by the lifetime configured now (plus a minute of clock skew between replicas): lowering it ends the
        // longer sessions already issued.
        if (expires < now || expires > now + Lifetime + TimeSpan.FromMinutes(1) || state.Current.RevokedSessions.ContainsKey(parts[0]))
        {
            return null;
        }

        return (parts[0], expires);
    }
}
