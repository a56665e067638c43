using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Tao.Gateway.Proxy;
using Tao.Gateway.Settings;

namespace Tao.Gateway.Tests.Proxy;

/// <summary>The cluster retry budget: a share of recent calls plus a floor, over a sliding 10 s window.</summary>
public sealed class RetryBudgetTests
{
    [Fact]
    public void AQuietCluster_MayRetryUpToTheFloor_ThenNotUntilTheWindowMoves()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var budget = Budget(clock, percent: 20, floorPerSecond: 1); // floor: 10 retries per 10 s

        var granted = Enumerable.Range(0, 15).Count(_ => budget.TryWithdraw("a"));
        clock.Advance(TimeSpan.FromSeconds(11));
        var later = budget.TryWithdraw("a");

        Assert.Equal(10, granted);
        Assert.True(later);
    }

    [Fact]
    public void Traffic_EarnsRetriesInProportion_PerCluster()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        var budget = Budget(clock, percent: 20, floorPerSecond: 0);
        for (var i = 0; i < 100; i++)
        {
            budget.Deposit("busy");
        }

        var busy = Enumerable.Range(0, 50).Count(_ => budget.TryWithdraw("busy"));
        var idle = Enumerable.Range(0, 50).Count(_ => budget.TryWithdraw("idle"));

        Assert.Equal(20, busy);
        Assert.Equal(0, idle);
    }

    private static RetryBudget Budget(TimeProvider clock, double percent, double floorPerSecond)
    {
        var services = new ServiceCollection();
        services.AddOptions<GatewayOptions>().Configure(o =>
        {
            o.RetryBudgetPercent = percent;
            o.RetryBudgetMinPerSecond = floorPerSecond;
        });
        return new RetryBudget(services.BuildServiceProvider().GetRequiredService<IOptionsMonitor<GatewayOptions>>(), clock);
    }
}
