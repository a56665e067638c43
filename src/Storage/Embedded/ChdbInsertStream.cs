using System.Runtime.InteropServices;

namespace Tao.Storage.Embedded;

/// <summary>A streaming INSERT: data is appended in chunks, so inserts are not bound by max_query_size.</summary>
internal sealed unsafe class ChdbInsertStream : IDisposable
{
    private IntPtr _handle;
    private bool _finished;

    private ChdbInsertStream(IntPtr handle) => _handle = handle;

    public static ChdbInsertStream Take(IntPtr handle)
    {
        var stream = new ChdbInsertStream(handle);
        stream.ThrowIfFailed();
        return stream;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        fixed (byte* p = data)
        {
            if (ChdbNative.chdb_stream_append(_handle, p, (nuint)data.Length) != 0)
            {
                ThrowIfFailed();
                throw new ChdbException("chDB refused the insert data");
            }
        }
    }

    public ChdbResult Complete()
    {
        _finished = true;
        return ChdbResult.Take(ChdbNative.chdb_stream_done(_handle));
    }

    private void ThrowIfFailed()
    {
        var error = ChdbNative.chdb_stream_insert_error(_handle);
        if (error != IntPtr.Zero)
        {
            throw new ChdbException(Marshal.PtrToStringUTF8(error) ?? "unknown chDB insert error");
        }
    }

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (handle != IntPtr.Zero)
        {
            if (!_finished)
            {
                ChdbNative.chdb_stream_cancel_insert(handle);
            }

            ChdbNative.chdb_destroy_insert_stream(handle);
        }
    }
}
