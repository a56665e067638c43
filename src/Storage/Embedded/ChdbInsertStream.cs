using System.Runtime.InteropServices;

namespace Tao.Storage.Embedded;

/// <summary>A streaming INSERT: data is appended in chunks, so inserts are not bound by max_query_size.</summary>
internal sealed unsafe class ChdbInsertStream : IDisposable
{
    private readonly EnginePriority _priority;
    private IntPtr _handle;
    private bool _finished;

    private ChdbInsertStream(IntPtr handle, EnginePriority priority)
    {
        _handle = handle;
        _priority = priority;
    }

    public static ChdbInsertStream Take(IntPtr handle, EnginePriority priority)
    {
        var stream = new ChdbInsertStream(handle, priority);
        stream.ThrowIfFailed();
        return stream;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        int failed;
        fixed (byte* p = data)
        {
            using (_priority.Enter())
            {
                failed = ChdbNative.chdb_stream_append(_handle, p, (nuint)data.Length);
            }
        }

        if (failed != 0)
        {
            ThrowIfFailed();
            throw new ChdbException("chDB refused the insert data");
        }
    }

    public ChdbResult Complete()
    {
        _finished = true;
        IntPtr result;
        using (_priority.Enter())
        {
            result = ChdbNative.chdb_stream_done(_handle);
        }

        return ChdbResult.Take(result);
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
            using (_priority.Enter())
            {
                if (!_finished)
                {
                    ChdbNative.chdb_stream_cancel_insert(handle);
                }

                ChdbNative.chdb_destroy_insert_stream(handle);
            }
        }
    }
}
