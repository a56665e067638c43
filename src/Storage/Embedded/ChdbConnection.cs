using System.Text;

namespace Tao.Storage.Embedded;

/// <summary>
/// One chDB connection. A connection runs one statement at a time and keeps its own settings and
/// current database, so the engine hands connections out exclusively from a pool.
/// </summary>
internal sealed unsafe class ChdbConnection : IDisposable
{
    private readonly EnginePriority _priority;
    private IntPtr* _handle;

    private ChdbConnection(IntPtr* handle, string settingsKey, EnginePriority priority)
    {
        _handle = handle;
        SettingsKey = settingsKey;
        _priority = priority;
    }

    /// <summary>The query-level settings this connection was opened with, as a pool key.</summary>
    public string SettingsKey { get; }

    /// <summary>The database the last USE switched to, so a pooled connection only switches when needed.</summary>
    public string CurrentDatabase { get; set; } = "default";

    public static ChdbConnection Open(IReadOnlyList<string> arguments, string settingsKey, EnginePriority priority)
    {
        var argv = new List<string>(arguments.Count + 1) { "chdb" };
        argv.AddRange(arguments);
        var pointers = new IntPtr[argv.Count];
        try
        {
            for (var i = 0; i < argv.Count; i++)
            {
                pointers[i] = System.Runtime.InteropServices.Marshal.StringToCoTaskMemUTF8(argv[i]);
            }

            fixed (IntPtr* p = pointers)
            {
                IntPtr* handle;
                using (priority.Enter())
                {
                    handle = ChdbNative.chdb_connect(argv.Count, p);
                }

                if (handle == null || *handle == IntPtr.Zero)
                {
                    throw new ChdbException($"could not open chDB with arguments: {string.Join(' ', arguments)}");
                }

                return new ChdbConnection(handle, settingsKey, priority);
            }
        }
        finally
        {
            foreach (var pointer in pointers)
            {
                System.Runtime.InteropServices.Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    public ChdbResult Query(string sql, string format, IReadOnlyList<KeyValuePair<string, string>>? parameters = null)
    {
        var query = Encoding.UTF8.GetBytes(sql);
        var fmt = Encoding.UTF8.GetBytes(format);
        using var bound = new NativeParameters(parameters);
        fixed (byte* q = query)
        fixed (byte* f = fmt)
        {
            IntPtr result;
            using (_priority.Enter())
            {
                result = bound.Count == 0
                    ? ChdbNative.chdb_query_n(Handle, q, (nuint)query.Length, f, (nuint)fmt.Length)
                    : ChdbNative.chdb_query_with_params_n(Handle, q, (nuint)query.Length, f, (nuint)fmt.Length,
                        bound.Names, bound.NameLengths, bound.Values, bound.ValueLengths, (nuint)bound.Count);
            }

            return ChdbResult.Take(result);
        }
    }

    /// <summary>Starts a streaming INSERT: <paramref name="insertSql"/> has no FORMAT clause; data is appended in <paramref name="format"/>.</summary>
    public ChdbInsertStream BeginInsert(string insertSql, string format, IReadOnlyList<KeyValuePair<string, string>>? parameters = null)
    {
        var query = Encoding.UTF8.GetBytes(insertSql);
        var fmt = Encoding.UTF8.GetBytes(format);
        using var bound = new NativeParameters(parameters);
        fixed (byte* q = query)
        fixed (byte* f = fmt)
        {
            IntPtr stream;
            using (_priority.Enter())
            {
                stream = ChdbNative.chdb_stream_insert_with_params_n(Handle, q, (nuint)query.Length, f, (nuint)fmt.Length,
                    bound.Names, bound.NameLengths, bound.Values, bound.ValueLengths, (nuint)bound.Count);
            }

            return ChdbInsertStream.Take(stream, _priority);
        }
    }

    private IntPtr Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle == null, this);
            return *_handle;
        }
    }

    public void Dispose()
    {
        if (_handle != null)
        {
            using (_priority.Enter())
            {
                ChdbNative.chdb_close_conn(_handle);
            }

            _handle = null;
        }
    }
}
