using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Tao.Gateway.Auth;
using Tao.Gateway.Security;
using Tao.Gateway.Settings;
using Tao.Gateway.State;

namespace Tao.Gateway.Tests.Auth;

/// <summary>The dashboard's session cookie against the gateway's clock, moved by the test instead of waited for.</summary>
public sealed class DashboardSessionTests
{
    [Fact]
    public void ASession_IsValidForItsLifetime_AndNotASecondLonger()
    {
        var (session, clock, _) = NewSession(hours: 2);
        var cookie = session.Issue();

        clock.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(1));
        Assert.True(session.IsValid(cookie));

        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.False(session.IsValid(cookie));
    }

    [Fact]
    public void ARevokedSession_EndsAtOnce_AndItsRevocationIsDroppedOnceItWouldHaveExpired()
    {
        var (session, clock, state) = NewSession(hours: 1);
        var first = session.Issue();
        session.Revoke(first);
        Assert.False(session.IsValid(first));
        Assert.Single(state.Current.RevokedSessions);

        clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var second = session.Issue();
        session.Revoke(second);

        // Only the second is still listed: the first would have expired anyway, so the shared state forgets it.
        Assert.Equal(second.Split('.')[0], Assert.Single(state.Current.RevokedSessions).Key);
    }

    [Fact]
    public void ACookie_ExpiringBeyondNowPlusTheLifetime_IsRefused_BeyondAMinuteOfSkew()
    {
        // Such a cookie was not issued under the lifetime configured now, or came from a replica whose clock runs ahead.
        var secret = NewSecret();
        var (issuer, _, _) = NewSession(hours: 2, secret, s_start);
        var cookie = issuer.Issue();

        var (slightlyBehind, _, _) = NewSession(hours: 2, secret, s_start - TimeSpan.FromSeconds(30));
        var (farBehind, _, _) = NewSession(hours: 2, secret, s_start - TimeSpan.FromSeconds(90));

        Assert.True(slightlyBehind.IsValid(cookie));
        Assert.False(farBehind.IsValid(cookie));
    }

    private static readonly DateTimeOffset s_start = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static string NewSecret() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private static (DashboardSession Session, FakeTimeProvider Clock, GatewayStateStore State) NewSession(double hours) =>
        NewSession(hours, NewSecret(), s_start);

    private static (DashboardSession Session, FakeTimeProvider Clock, GatewayStateStore State) NewSession(double hours, string secret, DateTimeOffset now)
    {
        var clock = new FakeTimeProvider(now);
        var services = new ServiceCollection();
        services.AddOptions<GatewayOptions>().Configure(o =>
        {
            o.StatePath = TestEngine.NewFolder("session-state");
            o.Secrets = [secret];
        });
        services.AddOptions<AuthOptions>().Configure(o => o.DashboardSessionHours = hours);
        var provider = services.BuildServiceProvider();
        var state = new GatewayStateStore(provider.GetRequiredService<IOptions<GatewayOptions>>(), clock);
        var secrets = new GatewaySecrets(provider.GetRequiredService<IOptionsMonitor<GatewayOptions>>());
        return (new DashboardSession(secrets, state, provider.GetRequiredService<IOptionsMonitor<AuthOptions>>(), clock), clock, state);
    }
}
