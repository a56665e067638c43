using System.Runtime.InteropServices;

namespace Tao.Storage.Embedded;

/// <summary>P/Invoke surface of chDB's C API (libchdb.so, chdb.h of chDB 26.7).</summary>
internal static unsafe partial class ChdbNative
{
    private const string Lib = "chdb";

    [LibraryImport(Lib)]
    public static partial void chdb_set_signal_handlers_enabled(int enabled);

    [LibraryImport(Lib)]
    public static partial IntPtr* chdb_connect(int argc, IntPtr* argv);

    [LibraryImport(Lib)]
    public static partial void chdb_close_conn(IntPtr* conn);

    [LibraryImport(Lib)]
    public static partial IntPtr chdb_query_n(IntPtr conn, byte* query, nuint queryLen, byte* format, nuint formatLen);

    [LibraryImport(Lib)]
    public static partial IntPtr chdb_query_with_params_n(
        IntPtr conn, byte* query, nuint queryLen, byte* format, nuint formatLen,
        byte** names, nuint* nameLens, byte** values, nuint* valueLens, nuint count);

    [LibraryImport(Lib)]
    public static partial IntPtr chdb_stream_insert_with_params_n(
        IntPtr conn, byte* query, nuint queryLen, byte* format, nuint formatLen,
        byte** names, nuint* nameLens, byte** values, nuint* valueLens, nuint count);

    [LibraryImport(Lib)]
    public static partial int chdb_stream_append(IntPtr stream, byte* data, nuint len);

    [LibraryImport(Lib)]
    public static partial IntPtr chdb_stream_done(IntPtr stream);

    [LibraryImport(Lib)]
    public static partial void chdb_stream_cancel_insert(IntPtr stream);

    [LibraryImport(Lib)]
    public static partial IntPtr chdb_stream_insert_error(IntPtr stream);

    [LibraryImport(Lib)]
    public static partial void chdb_destroy_insert_stream(IntPtr stream);

    [LibraryImport(Lib)]
    public static partial byte* chdb_result_buffer(IntPtr result);

    [LibraryImport(Lib)]
    public static partial nuint chdb_result_length(IntPtr result);

    [LibraryImport(Lib)]
    public static partial double chdb_result_elapsed(IntPtr result);

    [LibraryImport(Lib)]
    public static partial ulong chdb_result_rows_read(IntPtr result);

    [LibraryImport(Lib)]
    public static partial ulong chdb_result_bytes_read(IntPtr result);

    [LibraryImport(Lib)]
    public static partial ulong chdb_result_storage_rows_read(IntPtr result);

    [LibraryImport(Lib)]
    public static partial ulong chdb_result_storage_bytes_read(IntPtr result);

    [LibraryImport(Lib)]
    public static partial ulong chdb_result_rows_written(IntPtr result);

    [LibraryImport(Lib)]
    public static partial ulong chdb_result_bytes_written(IntPtr result);

    [LibraryImport(Lib)]
    public static partial IntPtr chdb_result_error(IntPtr result);

    [LibraryImport(Lib)]
    public static partial void chdb_destroy_query_result(IntPtr result);

    [LibraryImport(Lib)]
    public static partial IntPtr chdb_version();
}
