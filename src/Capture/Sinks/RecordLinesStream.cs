namespace Tao.Capture.Sinks;

/// <summary>
/// Records as one read-only stream, a newline after each (JSON lines): the body of an insert, read straight from the
/// records' bytes without copying them into one buffer first.
/// </summary>
internal sealed class RecordLinesStream(IReadOnlyList<ReadOnlyMemory<byte>> records) : Stream
{
    private int _record;
    private int _offset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => records.Sum(r => (long)r.Length + 1);

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var written = 0;
        while (written < buffer.Length && _record < records.Count)
        {
            var record = records[_record].Span;
            if (_offset < record.Length)
            {
                var n = Math.Min(record.Length - _offset, buffer.Length - written);
                record.Slice(_offset, n).CopyTo(buffer[written..]);
                _offset += n;
                written += n;
            }
            else
            {
                buffer[written++] = (byte)'\n';
                _record++;
                _offset = 0;
            }
        }

        return written;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
