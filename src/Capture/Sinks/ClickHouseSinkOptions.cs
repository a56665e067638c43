namespace Tao.Capture.Sinks;

/// <summary>The ClickHouse sink: capture records as rows of the captures table (server or embedded engine).</summary>
public sealed class ClickHouseSinkOptions
{
    public const string Section = "Tao:Capture:ClickHouse";

    /// <summary>Write captures to ClickHouse. Default: true. Turn off when a flywheel consumes Kafka and writes ClickHouse itself.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Rows per insert. Default: 10000.</summary>
    public int MaxBatchRecords { get; set; } = 10_000;

    /// <summary>
    /// At most one insert per this many milliseconds unless a full batch is waiting (fewer, larger parts). Default: 1000 ms:
    /// each insert writes a part (files, then merges) and a rollup row set, so on a small machine the embedded engine spent
    /// 17–22 µs of CPU per captured call at 200 ms and 13–15 at 1000 (tools/gateway-ab.sh, 2 cores, ~14k calls/s); analytics
    /// see a call at most a second later.
    /// </summary>
    public int LingerMs { get; set; } = 1000;
}
