using System.Collections.Concurrent;

namespace Tao.Capture.Spool;

/// <summary>
/// The one thread the spool's disk syncs run on: the interval flush (msync of what was appended) and the durable half
/// of a sink's commit (the cursor file's fsync, deleting retired segments). Either can hold its thread for tens of
/// milliseconds while the disk writes; on the .NET thread pool that thread was one of the few (two cores: two or three)
/// serving requests, and the calls queued behind it showed as the p99 of capture under load.
/// </summary>
internal sealed class SpoolSyncThread : IDisposable
{
    private readonly BlockingCollection<(Action Work, TaskCompletionSource? Done)> _queue = new();
    private readonly Action? _periodic;
    private readonly int _intervalMs;
    private readonly Thread _thread;

    /// <param name="periodic">Run every <paramref name="intervalMs"/> between queued work (null: none).</param>
    public SpoolSyncThread(Action? periodic, int intervalMs)
    {
        _periodic = periodic;
        _intervalMs = intervalMs;
        _thread = new Thread(Loop) { IsBackground = true, Name = "tao-spool-sync" };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the sync thread, after what was queued before it.</summary>
    public Task Run(Action work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            _queue.Add((work, done));
        }
        catch (InvalidOperationException)
        {
            done.SetException(new ObjectDisposedException(nameof(CaptureSpool)));
        }

        return done.Task;
    }

    /// <summary>Runs <paramref name="work"/> on the sync thread when nobody waits for it; nothing once the spool is disposed.</summary>
    public void Post(Action work)
    {
        try
        {
            _queue.Add((work, null));
        }
        catch (InvalidOperationException)
        {
            // Disposed: the work would have been for segments that are gone.
        }
    }

    private void Loop()
    {
        var next = Environment.TickCount64 + _intervalMs;
        while (!_queue.IsCompleted)
        {
            var wait = _periodic is null ? Timeout.Infinite : (int)Math.Clamp(next - Environment.TickCount64, 0, int.MaxValue);
            if (_queue.TryTake(out var item, wait))
            {
                try
                {
                    item.Work();
                    item.Done?.SetResult();
                }
                catch (Exception e)
                {
                    item.Done?.SetException(e); // posted work is best effort (a prefault): nobody to tell
                }
            }

            if (_periodic is not null && Environment.TickCount64 >= next)
            {
                _periodic();
                next = Environment.TickCount64 + _intervalMs;
            }
        }
    }

    /// <summary>Runs what is queued, then stops the thread.</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join();
        _queue.Dispose();
    }
}
