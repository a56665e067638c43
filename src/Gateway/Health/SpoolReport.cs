namespace Tao.Gateway.Health;

internal sealed record SpoolReport(bool Full, long BytesOnDisk, long Dropped, long CorruptBytesSkipped);
