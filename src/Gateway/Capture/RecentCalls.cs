using Tao.Capture;

namespace Tao.Gateway.Capture;

/// <summary>
/// The calls this replica recorded lately — request id → key, episode → keys — so feedback sent right after an
/// answer is accepted before its record has reached the store. Bounded: the oldest entries leave first.
/// </summary>
/// <remarks>
/// A ring of the last <see cref="Capacity"/> calls and two dictionaries sized for it, allocated once, under one lock:
/// a call adds an entry without allocating (a concurrent dictionary and queue allocated a node per call, which lived
/// long enough to be promoted and then died, the costly kind of garbage for a collector).
/// </remarks>
internal sealed class RecentCalls(int capacity)
{
    private readonly Lock _gate = new();
    private readonly (Guid Request, string? Episode, string Key)[] _ring = new (Guid, string?, string)[capacity];
    private readonly Dictionary<Guid, string> _requests = new(capacity);
    private readonly Dictionary<(string Episode, string Key), int> _episodes = [];
    private readonly Dictionary<string, int> _episodeCalls = new(StringComparer.Ordinal);
    private int _next;
    private int _count;

    public RecentCalls()
        : this(100_000)
    {
    }

    public int Capacity => _ring.Length;

    public void Add(CaptureRecord record)
    {
        var episode = record.EpisodeId.Length > 0 ? record.EpisodeId : null;
        lock (_gate)
        {
            if (_count == _ring.Length)
            {
                var old = _ring[_next];
                _requests.Remove(old.Request);
                if (old.Episode is not null)
                {
                    Forget((old.Episode, old.Key));
                }
            }
            else
            {
                _count++;
            }

            _ring[_next] = (record.RequestId, episode, record.ApiKeyId);
            _next = (_next + 1) % _ring.Length;
            _requests[record.RequestId] = record.ApiKeyId;
            if (episode is not null)
            {
                var key = (episode, record.ApiKeyId);
                _episodes[key] = _episodes.GetValueOrDefault(key) + 1;
                _episodeCalls[episode] = _episodeCalls.GetValueOrDefault(episode) + 1;
            }
        }
    }

    /// <summary>The key that made a recent request, if this replica recorded it.</summary>
    public string? KeyOf(Guid requestId)
    {
        lock (_gate)
        {
            return _requests.GetValueOrDefault(requestId);
        }
    }

    public bool HasEpisode(string episode, string keyId)
    {
        lock (_gate)
        {
            return _episodes.ContainsKey((episode, keyId));
        }
    }

    public bool HasEpisode(string episode)
    {
        lock (_gate)
        {
            return _episodeCalls.ContainsKey(episode);
        }
    }

    private void Forget((string Episode, string Key) key)
    {
        Decrement(_episodes, key);
        Decrement(_episodeCalls, key.Episode);
    }

    private static void Decrement<T>(Dictionary<T, int> counts, T key)
        where T : notnull
    {
        var left = counts[key] - 1;
        if (left == 0)
        {
            counts.Remove(key);
        }
        else
        {
            counts[key] = left;
        }
    }
}
