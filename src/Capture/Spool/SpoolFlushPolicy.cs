namespace Tao.Capture.Spool;

/// <summary>
/// When the spool forces records to disk. Records are written into a shared memory mapping of the segment
/// file before the client sees the end of its response, so a crash of the gateway process (kill -9 included)
/// loses nothing acknowledged under every policy: the kernel owns those pages. The policy bounds what a crash
/// of the machine itself (power loss, kernel panic) can lose.
/// </summary>
public enum SpoolFlushPolicy
{
    /// <summary>Leave write-back to the kernel (typically within 30 s). Machine crash window: the kernel's dirty-page age.</summary>
    None,

    /// <summary>msync the written range every FlushIntervalMs. Machine crash window: one interval.</summary>
    Interval,

    /// <summary>msync after every record, before the response completes. No window, at the cost of a disk sync per call.</summary>
    EveryRecord,
}
