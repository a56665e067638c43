using Microsoft.Extensions.Time.Testing;

namespace Tao.Flywheel.Tests;

/// <summary>When a group's next round is due, on a fake clock moved by the test.</summary>
public sealed class RoundTriggerTests
{
    private static readonly DateTimeOffset s_start = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ARound_IsDue_OnlyOnceTheMinimumIntervalSinceTheLastOneHasPassed()
    {
        var clock = new FakeTimeProvider(s_start);
        var trigger = new RoundTrigger(clock);
        var group = new ModelGroupOptions { Threshold = 10, MinIntervalMinutes = 30 };
        var last = new RoundRecord { StartedAt = s_start.UtcDateTime, Status = RoundStatus.Rejected };

        Assert.False(trigger.IsDue(group, 500, last));
        clock.Advance(TimeSpan.FromMinutes(30) - TimeSpan.FromSeconds(1));
        Assert.False(trigger.IsDue(group, 500, last));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(trigger.IsDue(group, 500, last));
    }

    [Fact]
    public void ARound_IsDue_OnlyWithEnoughNewInputs()
    {
        var trigger = new RoundTrigger(new FakeTimeProvider(s_start));
        var group = new ModelGroupOptions { Threshold = 10, MinIntervalMinutes = 30 };

        Assert.False(trigger.IsDue(group, 9, lastRound: null));
        Assert.True(trigger.IsDue(group, 10, lastRound: null)); // the group's first round waits for no interval
    }
}
