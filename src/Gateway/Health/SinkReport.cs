namespace Tao.Gateway.Health;

internal sealed record SinkReport(string Name, bool Reachable, long LagBytes, long Delivered, long DeadLettered, string? LastError);
