namespace Tao.Gateway.Health;

public sealed record SinkReport(string Name, bool Reachable, long LagBytes, long Delivered, long DeadLettered, string? LastError);
