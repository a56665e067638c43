namespace Tao.Gateway.Health;

public sealed record SpoolReport(bool Full, long BytesOnDisk, long Dropped, long CorruptBytesSkipped);
