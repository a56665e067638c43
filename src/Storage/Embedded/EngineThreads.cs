using System.Collections.Concurrent;

namespace Tao.Storage.Embedded;

/// <summary>
/// Dedicated threads for the engine's blocking calls. A chDB insert or query holds its thread for as long as the
/// engine works (an insert while merges run can take a second); on the .NET thread pool that would take workers
/// from the proxy, whose requests then queue until the pool injects threads (about two per second), which showed
/// as multi-second p99 stalls under load. Tasks started here, and every continuation of theirs that does not opt
/// out with ConfigureAwait(false), run on these threads.
/// The threads themselves run at normal priority (see <see cref="EnginePriority"/> for why only the native calls are
/// lowered).
/// </summary>
internal sealed class EngineThreads : TaskScheduler, IDisposable
{
    [ThreadStatic]
    private static EngineThreads? t_owner;

    private readonly BlockingCollection<Task> _queue = new();
    private readonly Thread[] _threads;

    public EngineThreads(int count)
    {
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

        foreach (var task in _queue.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }

    public void Dispose() => _queue.CompleteAdding();
}
