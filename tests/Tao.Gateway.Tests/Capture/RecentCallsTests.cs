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
        var recent = new RecentCalls(capacity: 1000);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var call = Call($"key_{w}", i % 10 == 0 ? $"ep-{w}-{i % 50}" : "");
                recent.Add(call);
                Assert.Equal($"key_{w}", recent.KeyOf(call.RequestId) ?? $"key_{w}"); // evicted at once only if 1000 came after it
            }
        }));

        await Task.WhenAll(writers);
        var last = Call("key_last", "ep-last");
        recent.Add(last);
        Assert.Equal("key_last", recent.KeyOf(last.RequestId));
        Assert.True(recent.HasEpisode("ep-last", "key_last"));
    }
}
