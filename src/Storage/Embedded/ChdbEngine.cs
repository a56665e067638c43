using System.Collections.Frozen;

namespace Tao.Storage.Embedded;

/// <summary>
/// The embedded ClickHouse engine (chDB) of this process, with its data in one folder.
/// </summary>
/// <remarks>
/// chDB runs one engine per process with one storage path: several connections to that path may be
/// open at once, but another path needs every connection closed first. So the engine is shared and
/// reference counted; every <see cref="Open"/> for the same path returns it. Each connection runs one
/// statement at a time and holds its own query-level settings (given when it is opened), so connections
/// are pooled by their settings and rented exclusively.
/// </remarks>
public sealed class ChdbEngine : IDisposable
{
    private const int MaxIdlePerSettings = 4;
    private static readonly Lock s_gate = new();
    private static ChdbEngine? s_engine;
    private static bool s_signalHandlersDisabled;

    private readonly Dictionary<string, Stack<ChdbConnection>> _idle = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _concurrency;
    private FrozenSet<string> _settingNames = FrozenSet<string>.Empty;
    private int _references;

    private ChdbEngine(string path, int maxConcurrentQueries, int nice)
    {
        Path = path;
        _concurrency = new SemaphoreSlim(maxConcurrentQueries, maxConcurrentQueries);
        Threads = new EngineThreads(maxConcurrentQueries);
        Priority = EnginePriority.Create(nice, out var refused);
        PriorityRefused = refused;
    }

    /// <summary>Where calls into the engine run: one thread per concurrent query, never the thread pool.</summary>
    internal EngineThreads Threads { get; }

    /// <summary>How every call into chDB lowers its thread's priority.</summary>
    internal EnginePriority Priority { get; }

    /// <summary>Why a requested nice value could not be applied, or null.</summary>
    public string? PriorityRefused { get; }

    /// <summary>The folder the engine keeps its databases in.</summary>
    public string Path { get; }

    /// <summary>
    /// Opens (or joins) the process's engine on <paramref name="path"/>; dispose to leave it. The first opener's
    /// <paramref name="nice"/> (0–19, 0 = normal priority) sets the CPU priority of the engine's work (see <see cref="EnginePriority"/>).
    /// </summary>
    public static ChdbEngine Open(string path, int maxConcurrentQueries = 8, int nice = 0)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        lock (s_gate)
        {
            if (s_engine is { } existing)
            {
                if (!string.Equals(existing.Path, fullPath, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"the embedded ClickHouse engine of this process already uses '{existing.Path}'; chDB allows one storage path per process");
                }

                existing._references++;
                return existing;
            }

            DisableSignalHandlers();
            Directory.CreateDirectory(fullPath);
            var engine = new ChdbEngine(fullPath, maxConcurrentQueries, nice) { _references = 1 };
            // Boot the engine now so a broken library or folder fails at startup, not at the first query. The
            // background pools chDB starts at boot inherit the lowered priority of the booting call, and the name of
            // the booting thread: on an engine thread they show as "chdb-call", not as ".NET TP Worker" threads.
            engine.Return(engine.Threads.Run(() =>
            {
                var connection = engine.OpenConnection([]);
                engine._settingNames = SettingNamesOf(connection);
                return Task.FromResult(connection);
            }, CancellationToken.None).GetAwaiter().GetResult());
            s_engine = engine;
            return engine;
        }
    }

    /// <summary>
    /// chDB installs process-wide signal handlers that turn the runtime's first NullReferenceException
    /// into a SIGSEGV crash. They must be switched off before the first connection; afterwards is too late.
    /// </summary>
    internal static void DisableSignalHandlers()
    {
        if (!s_signalHandlersDisabled)
        {
            ChdbNative.chdb_set_signal_handlers_enabled(0);
            s_signalHandlersDisabled = true;
        }
    }

    /// <summary>Version of the loaded engine, e.g. "26.7.3".</summary>
    public static string Version => System.Runtime.InteropServices.Marshal.PtrToStringUTF8(ChdbNative.chdb_version()) ?? "unknown";

    /// <summary>
    /// Whether the engine knows a query-level setting of this name (system.settings, aliases included). Settings become
    /// the arguments a connection is opened with, where chDB would also take its own command-line options: only real
    /// settings may get there, and an unknown one is an error, as on a server.
    /// </summary>
    internal bool IsSetting(string name) => _settingNames.Contains(name);

    private static FrozenSet<string> SettingNamesOf(ChdbConnection connection)
    {
        using var result = connection.Query("SELECT name FROM system.settings", "TabSeparatedRaw");
        return System.Text.Encoding.UTF8.GetString(result.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToFrozenSet(StringComparer.Ordinal);
    }

    internal async Task<ChdbConnection> RentAsync(IReadOnlyList<KeyValuePair<string, string>> settings, CancellationToken cancellationToken)
    {
        // Resumes on the caller's scheduler: called from the engine's threads, the connection opens there (see EnginePriority).
        await _concurrency.WaitAsync(cancellationToken).ConfigureAwait(true);
        try
        {
            var key = SettingsKey(settings);
            lock (_idle)
            {
                if (_idle.TryGetValue(key, out var stack) && stack.Count > 0)
                {
                    return stack.Pop();
                }
            }

            return OpenConnection(settings);
        }
        catch
        {
            _concurrency.Release();
            throw;
        }
    }

    internal void Release(ChdbConnection connection)
    {
        Return(connection);
        _concurrency.Release();
    }

    private void Return(ChdbConnection connection)
    {
        lock (_idle)
        {
            if (_references > 0)
            {
                if (!_idle.TryGetValue(connection.SettingsKey, out var stack))
                {
                    _idle[connection.SettingsKey] = stack = new Stack<ChdbConnection>();
                }

                if (stack.Count < MaxIdlePerSettings)
                {
                    stack.Push(connection);
                    return;
                }
            }
        }

        connection.Dispose();
    }

    private static readonly string[] ProfilerSettings = ["query_profiler_real_time_period_ns", "query_profiler_cpu_time_period_ns"];

    private ChdbConnection OpenConnection(IReadOnlyList<KeyValuePair<string, string>> settings)
    {
        var arguments = new List<string>(settings.Count + 3) { $"--path={Path}" };
        foreach (var (name, value) in settings)
        {
            arguments.Add($"--{name}={value}");
        }

        // No sampling query profiler: its timer signal can land on a thread inside glibc's malloc, and its handler's
        // first touch of thread-local storage allocates, so the thread waits on the arena lock it holds. Seen once: a
        // test process with every thread parked on that lock (gdb: _int_malloc, <signal handler called> in libchdb,
        // __tls_get_addr, malloc). In a gateway that would be a hung process.
        foreach (var profiler in ProfilerSettings.Where(p => !settings.Any(s => s.Key == p)))
        {
            arguments.Add($"--{profiler}=0");
        }

        return ChdbConnection.Open(arguments, SettingsKey(settings), Priority);
    }

    private static string SettingsKey(IReadOnlyList<KeyValuePair<string, string>> settings) =>
        settings.Count == 0 ? string.Empty : string.Join('&', settings.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"));

    public void Dispose()
    {
        lock (s_gate)
        {
            if (--_references > 0)
            {
                return;
            }

            s_engine = null;
        }

        // On the disposing thread, not queued to the engine's threads and waited for: with that wait, a fresh clone's
        // test run hung once (2026-12-05; every thread parked, cause not proven — a close queued behind the engine's
        // threads widens the window in which the process's next engine boots while this one's connections are open).
        lock (_idle)
        {
            foreach (var connection in _idle.Values.SelectMany(s => s))
            {
                connection.Dispose();
            }

            _idle.Clear();
        }

        Threads.Dispose();
    }
}
