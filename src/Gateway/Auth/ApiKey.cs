namespace Tao.Gateway.Auth;

/// <summary>A gateway API key as the gateway keeps it: never the secret, only its hash.</summary>
public sealed record ApiKey(string Id, string Name, string Sha256, string? Task, DateTimeOffset CreatedAt);
