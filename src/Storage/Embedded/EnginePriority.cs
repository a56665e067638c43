using System.Runtime.InteropServices;

namespace Tao.Storage.Embedded;

/// <summary>
/// Lowers the CPU priority (raises the Linux nice value) of the calling thread for the span of one call into chDB,
/// so the threads chDB starts or wakes from it (its query pipeline, and the merge and schedule pools started when
/// the engine boots) compete for the cores below the proxy.
/// </summary>
/// <remarks>
/// On Linux a new thread inherits the nice value of the thread that starts it. A managed thread must therefore never
/// stay niced: the .NET thread pool starts its workers (and its gate, timer and socket threads) from whichever thread
/// queues work when more are needed, and one started from a niced thread would serve proxy requests at the engine's
/// priority. (Nicing the engine threads outright did exactly that: the whole pool ended up at nice 10.) Only native
/// chDB code runs while a scope is entered; leaving it restores the previous value.
/// Raising a nice value needs no privilege, but lowering it back needs CAP_SYS_NICE or an RLIMIT_NICE that allows
/// it, so <see cref="Create"/> probes that on a throwaway thread first. Without it the engine runs at normal priority.
/// </remarks>
internal readonly partial struct EnginePriority
{
    private EnginePriority(int nice) => Nice = nice;

    /// <summary>How much the engine's calls are niced relative to the caller; 0 = not at all.</summary>
    public int Nice { get; }

    /// <summary>
    /// The priority for <paramref name="nice"/> (0–19), or normal priority with <paramref name="refused"/> saying why
    /// when this process may not restore a thread's priority after lowering it.
    /// </summary>
    public static EnginePriority Create(int nice, out string? refused)
    {
        refused = null;
        if (nice <= 0)
        {
            return default;
        }

        if (!OperatingSystem.IsLinux())
        {
            refused = "thread priorities are only adjusted on Linux";
            return default;
        }

        var canRestore = false;
        var probe = new Thread(() =>
        {
            var tid = gettid();
            var before = CurrentNice(tid);
            canRestore = setpriority(PrioProcess, tid, Math.Min(before + nice, 19)) == 0
                && setpriority(PrioProcess, tid, before) == 0;
        }) { IsBackground = true, Name = "chdb-nice-probe" };
        probe.Start();
        probe.Join();
        if (!canRestore)
        {
            refused = "this process may not restore a thread's priority after lowering it (grant CAP_SYS_NICE, or an RLIMIT_NICE of 20 or more)";
            return default;
        }

        return new EnginePriority(nice);
    }

    /// <summary>Lowers the calling thread's priority until the scope is disposed.</summary>
    public Scope Enter() => Nice == 0 ? default : new Scope(Nice);

    public readonly ref struct Scope : IDisposable
    {
        private readonly int _tid;
        private readonly int _before;

        internal Scope(int nice)
        {
            _tid = gettid();
            _before = CurrentNice(_tid);
            if (setpriority(PrioProcess, _tid, Math.Min(_before + nice, 19)) != 0)
            {
                _tid = 0; // still at the old priority: nothing to restore
            }
        }

        public void Dispose()
        {
            if (_tid != 0)
            {
                // Create proved this is allowed. Should the limits change while the process runs, the thread stays
                // lower: threads the pool starts from it would be slower, which is not worth crashing the proxy for.
                _ = setpriority(PrioProcess, _tid, _before);
            }
        }
    }

    /// <summary>The nice value of thread <paramref name="tid"/>; -1 is a valid value, so errno tells failure apart.</summary>
    private static int CurrentNice(int tid)
    {
        Marshal.SetLastPInvokeError(0);
        var nice = getpriority(PrioProcess, tid);
        return nice == -1 && Marshal.GetLastPInvokeError() != 0 ? 0 : nice;
    }

    private const int PrioProcess = 0; // with a thread id: that thread only (Linux)

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int priority);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int getpriority(int which, int who);

    [LibraryImport("libc")]
    private static partial int gettid();
}
