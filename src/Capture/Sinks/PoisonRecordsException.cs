using Tao.Capture.Spool;

namespace Tao.Capture.Sinks;

/// <summary>Some records can never be accepted by a sink (too large, unreadable); the rest of the batch was persisted.</summary>
internal sealed class PoisonRecordsException(IReadOnlyList<(SpoolEntry Entry, string Reason)> records)
    : Exception($"{records.Count} record(s) rejected permanently")
{
    public IReadOnlyList<(SpoolEntry Entry, string Reason)> Records { get; } = records;
}
