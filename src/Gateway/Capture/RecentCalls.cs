using System.Collections.Concurrent;
using Tao.Capture;

namespace Tao.Gateway.Capture;

/// <summary>
/// The calls this replica recorded lately — request id → key, episode → keys — so feedback sent right after an
/// answer is accepted before its record has reached the store. Bounded: the oldest entries leave first.
/// </summary>
internal sealed class RecentCalls
{
    private const int Capacity = 100_000;
    private readonly ConcurrentDictionary<Guid, string> _requests = new();
    private readonly ConcurrentDictionary<(string Episode, string Key), byte> _episodes = new();
    private readonly ConcurrentQueue<(Guid Request, string? Episode, string Key)> _order = new();

    public void Add(CaptureRecord record)
    {
        _requests[record.RequestId] = record.ApiKeyId;
        if (record.EpisodeId.Length > 0)
        {
            _episodes[(record.EpisodeId, record.ApiKeyId)] = 0;
        }

        _order.Enqueue((record.RequestId, record.EpisodeId.Length > 0 ? record.EpisodeId : null, record.ApiKeyId));
        while (_order.Count > Capacity && _order.TryDequeue(out var old))
        {
            _requests.TryRemove(old.Request, out _);
            if (old.Episode is not null)
            {
                _episodes.TryRemove((old.Episode, old.Key), out _);
            }
        }
    }

    /// <summary>The key that made a recent request, if this replica recorded it.</summary>
    public string? KeyOf(Guid requestId) => _requests.TryGetValue(requestId, out var key) ? key : null;

    public bool HasEpisode(string episode, string keyId) => _episodes.ContainsKey((episode, keyId));

    public bool HasEpisode(string episode) => _episodes.Keys.Any(k => k.Episode == episode);
}
