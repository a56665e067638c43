namespace Tao.Capture.Spool;

/// <summary>
/// Records read from the spool into buffers their reader keeps from batch to batch: the entry list and one byte arena
/// that the payloads are slices of. A sink's shipper reads a batch every linger interval (thousands of records under
/// load); a list and an array per record per batch were garbage the collector had to age through every generation
/// (the lists large enough for the large-object heap). Entries and payloads are valid until the next read into it.
/// </summary>
internal sealed class SpoolBatch
{
    private byte[] _bytes = new byte[64 * 1024];
    private int _used;

    public List<SpoolEntry> Entries { get; } = [];

    public void Clear()
    {
        Entries.Clear();
        _used = 0;
    }

    /// <summary>A copy of <paramref name="payload"/> in the arena. A full arena is replaced by a larger one; the entries
    /// already read keep the old one alive until the batch is cleared, so the arena grows to the largest batch once.</summary>
    public ReadOnlyMemory<byte> Keep(ReadOnlySpan<byte> payload)
    {
        if (_bytes.Length - _used < payload.Length)
        {
            _bytes = new byte[Math.Max(_bytes.Length * 2, _used + payload.Length)];
            _used = 0;
        }

        payload.CopyTo(_bytes.AsSpan(_used));
        var kept = _bytes.AsMemory(_used, payload.Length);
        _used += payload.Length;
        return kept;
    }
}
