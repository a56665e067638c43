namespace Tao.Gateway.Capture;

/// <summary>
/// Sits between the proxy and the client connection. Bytes pass straight through (flushes included, so streaming
/// stays chunk by chunk); the capture sees them on the way, and when a chunk completes the response its record
/// is appended to the spool before that chunk is written, so the client never sees the end of an uncaptured call.
/// </summary>
internal sealed class CaptureResponseStream(Stream inner, CaptureContext context, CaptureRecorder recorder, HttpContext http, Func<string, int>? countDelta)
    : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Observe(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        Observe(buffer.AsSpan(offset, count));
        inner.Write(buffer, offset, count);
    }

    private void Observe(ReadOnlySpan<byte> bytes)
    {
        if (!context.IsCompleted && context.OnResponseBytes(bytes, countDelta))
        {
            recorder.Complete(context, http.Response.StatusCode);
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
