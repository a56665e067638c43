namespace Tao.Capture.Sinks;

/// <summary>The ClickHouse sink: capture records as rows of the captures table (server or embedded engine).</summary>
public sealed class ClickHouseSinkOptions
{
    public const string Section = "Tao:Capture:ClickHouse";

    /// <summary>Write captures to ClickHouse. Default: true. Turn off when a flywheel consumes Kafka and writes ClickHouse itself.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Rows per insert. Default: 10000.</summary>
    public int MaxBatchRecords { get; set; } = 10_000;

    /// <summary>At most one insert per this many milliseconds unless a full batch is waiting (fewer, larger parts). Default: 200 ms.</summary>
    public int LingerMs { get; set; } = 200;
}
