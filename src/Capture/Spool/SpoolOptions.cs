namespace Tao.Capture.Spool;

/// <summary>The on-disk log every capture record is appended to before any sink sees it.</summary>
public sealed class SpoolOptions
{
    public const string Section = "Tao:Capture:Spool";

    /// <summary>Folder of the segments and the sinks' cursors. Default: ".tao/data/spool".</summary>
    public string Path { get; set; } = System.IO.Path.Combine(".tao", "data", "spool");

    /// <summary>Size of one segment file, preallocated. Default: 64 MiB.</summary>
    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Disk budget for all segments. When a new segment would exceed it, records are dropped (counted, and
    /// reported by /readyz and metrics) while the proxy keeps serving. Default: 4 GiB.
    /// </summary>
    public long MaxBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>When appended records are forced to stable storage (see <see cref="SpoolFlushPolicy"/>). Default: Interval.</summary>
    public SpoolFlushPolicy FlushPolicy { get; set; } = SpoolFlushPolicy.Interval;

    /// <summary>Period of the Interval flush policy, in milliseconds. Default: 1000.</summary>
    public int FlushIntervalMs { get; set; } = 1000;
}
