using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Tao.Storage.Embedded;

/// <summary>
/// Dedicated threads for the engine's blocking calls. A chDB insert or query holds its thread for as long as the
/// engine works (an insert while merges run can take a second); on the .NET thread pool that would take workers
/// from the proxy, whose requests then queue until the pool injects threads (about two per second), which showed
/// as multi-second p99 stalls under load. Tasks started here, and every continuation of theirs that does not opt
/// out with ConfigureAwait(false), run on these threads.
/// They also run at a lower CPU priority (a higher nice value) when asked: threads inherit it, so every thread chDB
/// starts from them (its query pipeline, and the merge pools started when the engine boots on one of them) competes
/// for the cores below the proxy. When the proxy is busy the engine falls behind and the spool absorbs the
/// difference; when it is not, the engine catches up.
/// </summary>
internal sealed partial class EngineThreads : TaskScheduler, IDisposable
{
    [ThreadStatic]
    private static EngineThreads? t_owner;

    private readonly BlockingCollection<Task> _queue = new();
    private readonly Thread[] _threads;
    private readonly int _nice;

    public EngineThreads(int count, int nice)
    {
        _nice = nice;
        _threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = "chdb-call" };
            _threads[i].Start();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Runs <paramref name="work"/> (and its continuations) on the engine's threads.</summary>
    public Task<T> Run<T>(Func<Task<T>> work, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(work, cancellationToken, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    protected override void QueueTask(Task task) => _queue.Add(task);

    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        t_owner == this && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();

    private void Work()
    {
        t_owner = this;
        if (_nice > 0 && OperatingSystem.IsLinux())
        {
            // Raising one's own nice value needs no privilege; on failure the thread just keeps normal priority.
            _ = setpriority(PrioProcess, gettid(), Math.Min(_nice, 19));
        }

        foreach (var task in _queue.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }

    public void Dispose() => _queue.CompleteAdding();

    private const int PrioProcess = 0; // with a thread id: that thread only (Linux)

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int priority);

    [LibraryImport("libc")]
    private static partial int gettid();
}
