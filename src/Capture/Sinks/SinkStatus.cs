namespace Tao.Capture.Sinks;

/// <summary>What /readyz and the metrics report about one sink.</summary>
public sealed class SinkStatus(string name)
{
    private long _delivered;
    private long _failedAttempts;
    private long _deadLettered;

    public string Name { get; } = name;

    /// <summary>False after a failed delivery, until one succeeds.</summary>
    public bool Healthy { get; set; } = true;

    public string? LastError { get; set; }
    public DateTimeOffset? LastSuccessAt { get; set; }
    public long CommittedPosition { get; set; }
    public long Delivered => Interlocked.Read(ref _delivered);
    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    internal void AddDelivered(long count) => Interlocked.Add(ref _delivered, count);
    internal void AddFailure() => Interlocked.Increment(ref _failedAttempts);
    internal void AddDeadLettered(long count) => Interlocked.Add(ref _deadLettered, count);
}
