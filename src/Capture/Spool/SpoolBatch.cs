namespace Tao.Capture.Spool;

/// <summary>
/// Records read from the spool for one delivery, their payloads borrowed from the segments' mappings rather than
/// copied. A sink's shipper reads a batch every linger interval (thousands of records, megabytes, under load); a copy
/// of each batch cost a memcpy of every record and an arena the size of the largest batch kept for good on the large
/// object heap, with the smaller arenas it outgrew left there as garbage until a full collection. The batch holds a
/// reference on each segment its payloads lie in, so a segment retired or a spool disposed meanwhile stays mapped
/// until the batch is cleared. Entries and payloads are valid until the next read into it or <see cref="Clear"/>.
/// </summary>
internal sealed class SpoolBatch
{
    private readonly List<SpoolSegment> _held = [];

    public List<SpoolEntry> Entries { get; } = [];

    /// <summary>Forgets the entries and lets go of the segments they lay in.</summary>
    public void Clear()
    {
        Entries.Clear();
        foreach (var segment in _held)
        {
            segment.Release();
        }

        _held.Clear();
    }

    /// <summary>Takes a reference on <paramref name="segment"/> for this batch unless it holds one already. Called
    /// under the spool's lock, while the segment is listed and so still mapped.</summary>
    public void Hold(SpoolSegment segment)
    {
        if (_held.Contains(segment)) // a batch spans one segment or two
        {
            return;
        }

        segment.Retain();
        _held.Add(segment);
    }
}
