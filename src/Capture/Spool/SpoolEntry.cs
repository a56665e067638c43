namespace Tao.Capture.Spool;

/// <summary>One record read back from the spool: where it is, where the next one starts, its key and payload.</summary>
public readonly record struct SpoolEntry(long Position, long Next, Guid Key, ReadOnlyMemory<byte> Payload);
