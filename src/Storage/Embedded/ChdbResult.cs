namespace Tao.Storage.Embedded;

/// <summary>Owns one chdb_result: its output bytes live in native memory until disposed.</summary>
internal sealed unsafe class ChdbResult : IDisposable
{
    private IntPtr _handle;

    private ChdbResult(IntPtr handle) => _handle = handle;

    /// <summary>Takes ownership of a result handle, throwing (and freeing it) when it carries an error.</summary>
    public static ChdbResult Take(IntPtr handle)
    {
        if (handle == IntPtr.Zero)
        {
            throw new ChdbException("chDB returned no result (connection closed?)");
        }

        var error = ChdbNative.chdb_result_error(handle);
        if (error != IntPtr.Zero)
        {
            var message = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(error) ?? "unknown chDB error";
            ChdbNative.chdb_destroy_query_result(handle);
            throw new ChdbException(message);
        }

        return new ChdbResult(handle);
    }

    public ReadOnlySpan<byte> Span
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle == IntPtr.Zero, this);
            var length = (int)ChdbNative.chdb_result_length(_handle);
            return length == 0 ? ReadOnlySpan<byte>.Empty : new ReadOnlySpan<byte>(ChdbNative.chdb_result_buffer(_handle), length);
        }
    }

    public QueryStatistics Statistics => new(
        ChdbNative.chdb_result_storage_rows_read(_handle),
        ChdbNative.chdb_result_storage_bytes_read(_handle),
        ChdbNative.chdb_result_rows_written(_handle),
        ChdbNative.chdb_result_bytes_written(_handle),
        ChdbNative.chdb_result_rows_read(_handle),
        ChdbNative.chdb_result_bytes_read(_handle),
        ChdbNative.chdb_result_elapsed(_handle));

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref _handle, IntPtr.Zero);
        if (handle != IntPtr.Zero)
        {
            ChdbNative.chdb_destroy_query_result(handle);
        }
    }
}
