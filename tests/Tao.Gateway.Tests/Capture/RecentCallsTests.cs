using Tao.Capture;
using Tao.Gateway.Capture;

namespace Tao.Gateway.Tests.Capture;

/// <summary>The recent-calls index feedback checks before a record reaches the store: bounded, oldest out first.</summary>
public sealed class RecentCallsTests
{
    private static CaptureRecord Call(string key, string episode = "") => new() { RequestId = Guid.NewGuid(), ApiKeyId = key, EpisodeId = episode };

    [Fact]
    public void KeepsTheLastCalls_ForgetsTheOldest_AndAnEpisodeWhileAnyOfItsCallsIsKept()
    {
        var recent = new RecentCalls(capacity: 3);
        var first = Call("key_a", "ep-1");
        var second = Call("key_a", "ep-1");
        var third = Call("key_b");
        recent.Add(first);
        recent.Add(second);
        recent.Add(third);

        Assert.Equal("key_a", recent.KeyOf(first.RequestId));
        Assert.True(recent.HasEpisode("ep-1", "key_a"));
        Assert.False(recent.HasEpisode("ep-1", "key_b"));

        recent.Add(Call("key_c")); // the first call leaves; its episode stays, the second call is in it
        Assert.Null(recent.KeyOf(first.RequestId));
        Assert.Equal("key_a", recent.KeyOf(second.RequestId));
        Assert.True(recent.HasEpisode("ep-1"));

        recent.Add(Call("key_c")); // the second leaves too: the episode is forgotten
        Assert.Null(recent.KeyOf(second.RequestId));
        Assert.False(recent.HasEpisode("ep-1"));
        Assert.False(recent.HasEpisode("ep-1", "key_a"));
        Assert.Equal("key_b", recent.KeyOf(third.RequestId));
    }

    [Fact]
    public async Task ManyWritersAndReaders_KeepItConsistent()
    {
        // Room for every call of the first phase (nothing evicted: every lookup must answer), then a small ring that
        // four writers turn over many times (evictions race with adds: the episode counts must still come out right).
        var recent = new RecentCalls(capacity: 80_000);
        var calls = await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var mine = new List<CaptureRecord>();
            for (var i = 0; i < 20_000; i++)
            {
                var call = Call($"key_{w}", i % 10 == 0 ? $"ep-{w}-{i % 50}" : "");
                recent.Add(call);
                Assert.Equal($"key_{w}", recent.KeyOf(call.RequestId));
                mine.Add(call);
            }

            return mine;
        })));
        Assert.All(calls.SelectMany(c => c), call => Assert.Equal(call.ApiKeyId, recent.KeyOf(call.RequestId)));
        Assert.True(recent.HasEpisode("ep-3-40", "key_3"));

        var small = new RecentCalls(capacity: 100);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                small.Add(Call($"key_{w}", $"ep-{w}"));
            }
        })));
        for (var i = 0; i < 100; i++)
        {
            small.Add(Call("key_last", "ep-last")); // pushes out every earlier call
        }

        Assert.True(small.HasEpisode("ep-last", "key_last"));
        Assert.All(Enumerable.Range(0, 4), w => Assert.False(small.HasEpisode($"ep-{w}")));
    }
}
