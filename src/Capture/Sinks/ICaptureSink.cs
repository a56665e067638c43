using Tao.Capture.Spool;

namespace Tao.Capture.Sinks;

/// <summary>Somewhere captured records are shipped to from the spool (Kafka, ClickHouse).</summary>
public interface ICaptureSink : IAsyncDisposable
{
    /// <summary>Names the sink's cursor in the spool; a plain identifier.</summary>
    string Name { get; }

    /// <summary>Most records handed over in one batch.</summary>
    int MaxBatchRecords { get; }

    /// <summary>Least time between two batches that are not full: records accumulate meanwhile.</summary>
    TimeSpan Linger { get; }

    /// <summary>
    /// Persists every record of the batch or throws. Records the sink can never accept are reported through
    /// <see cref="PoisonRecordsException"/>; the rest of the batch must then have been persisted.
    /// Redelivery after a failure must not count a record twice downstream. The entries and their payloads are the
    /// shipper's reused buffers: valid until this returns (a poison report included), copied by the sink if kept longer.
    /// </summary>
    Task DeliverAsync(IReadOnlyList<SpoolEntry> batch, CancellationToken cancellationToken);

    /// <summary>True when the sink's service answers.</summary>
    Task<bool> CheckAsync(CancellationToken cancellationToken);
}
