using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tao.Capture.Spool;

namespace Tao.Capture.Sinks;

/// <summary>
/// Moves records from the spool to one sink: reads from the sink's committed position, delivers a batch, commits
/// after the sink has persisted it, and retries with backoff while the sink is down. The proxy never waits on this.
/// </summary>
public sealed partial class SinkShipper(CaptureSpool spool, ICaptureSink sink, ILogger<SinkShipper> logger, TimeProvider time)
    : BackgroundService
{
    private const long MaxBatchBytes = 16L * 1024 * 1024;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    // One batch's entries, reused; the payloads are borrowed from the spool's mapped segments (no copy) and a sink's
    // DeliverAsync is done with them when it returns (Kafka copies them into its messages, the ClickHouse insert streams
    // them, dead letters are written before it returns). The batch holds its segments mapped until it is cleared: after
    // a commit, or by the next read. A batch left held at shutdown keeps its segments mapped until the process ends, so
    // an insert still streaming after a cancelled delivery never reads unmapped memory.
    private readonly SpoolBatch _batch = new();

    public SinkStatus Status { get; } = new(sink.Name);

    public ICaptureSink Sink => sink;

    /// <summary>Bytes of records appended to the spool and not yet persisted by this sink.</summary>
    public long Lag => Math.Max(0, spool.End - Status.CommittedPosition);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var position = spool.RegisterSink(sink.Name);
        Status.CommittedPosition = position;
        var backoff = TimeSpan.FromMilliseconds(100);
        var lastDelivery = 0L;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await spool.WaitForDataAsync(position, stoppingToken).ConfigureAwait(false);
                // At most one delivery per linger interval unless a full batch is waiting: under load this keeps
                // batches large (one part per insert for ClickHouse) instead of shipping whatever arrived meanwhile.
                var wait = sink.Linger - time.GetElapsedTime(lastDelivery);
                if (wait > TimeSpan.Zero && spool.End - position < MaxBatchBytes)
                {
                    await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                }

                lastDelivery = time.GetTimestamp();

                spool.Read(position, sink.MaxBatchRecords, MaxBatchBytes, _batch);
                var batch = _batch.Entries;
                if (batch.Count == 0)
                {
                    // Only torn bytes lay between position and the end: step over them.
                    position = spool.End;
                    continue;
                }

                await DeliverAsync(batch, stoppingToken).ConfigureAwait(false);
                position = batch[^1].Next;
                await spool.CommitAsync(sink.Name, position).ConfigureAwait(false);
                Status.CommittedPosition = position;
                _batch.Clear(); // segments retired by this commit unmap now rather than at the next read
                Status.Healthy = true;
                Status.LastSuccessAt = time.GetUtcNow();
                backoff = TimeSpan.FromMilliseconds(100);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Status.Healthy = false;
                Status.LastError = e.Message;
                Status.AddFailure();
                LogDeliveryFailed(logger, sink.Name, backoff.TotalMilliseconds, e);
                try
                {
                    await Task.Delay(backoff, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    private async Task DeliverAsync(List<SpoolEntry> batch, CancellationToken cancellationToken)
    {
        try
        {
            await sink.DeliverAsync(batch, cancellationToken).ConfigureAwait(false);
            Status.AddDelivered(batch.Count);
        }
        catch (PoisonRecordsException poison)
        {
            DeadLetter(poison.Records);
            Status.AddDelivered(batch.Count - poison.Records.Count);
        }
    }

    /// <summary>Records a sink can never take are kept beside the spool, so they are not lost and do not block the rest.</summary>
    private void DeadLetter(IReadOnlyList<(SpoolEntry Entry, string Reason)> records)
    {
        var folder = Path.Combine(spool.Folder, "deadletter");
        Directory.CreateDirectory(folder);
        using var writer = new StreamWriter(Path.Combine(folder, sink.Name + ".jsonl"), append: true);
        foreach (var (entry, reason) in records)
        {
            writer.WriteLine(JsonSerializer.Serialize(new DeadLetter(entry.Position, entry.Key, reason, Convert.ToBase64String(entry.Payload.Span)),
                DeadLetterJson.Default.DeadLetter));
            LogDeadLettered(logger, sink.Name, entry.Key, reason);
        }

        Status.AddDeadLettered(records.Count);
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "Sink {Sink} failed to persist a batch; retrying in {BackoffMs} ms")]
    private static partial void LogDeliveryFailed(ILogger logger, string sink, double backoffMs, Exception exception);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Sink {Sink} rejected record {Key} permanently: {Reason}; kept in the dead-letter file")]
    private static partial void LogDeadLettered(ILogger logger, string sink, Guid key, string reason);
}
