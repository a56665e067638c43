namespace Tao.Storage.Embedded;

/// <summary>A user of the embedded store's HTTP endpoint.</summary>
/// <param name="Name">User name, as clients send it (Basic auth, X-ClickHouse-User or the user URL parameter).</param>
/// <param name="Password">Its password.</param>
/// <param name="ReadOnly">True for the dashboards' user: its queries run with readonly=1.</param>
public sealed record EmbeddedHttpUser(string Name, string Password, bool ReadOnly)
{
    /// <summary>Never the password: records print their properties, and this one ends up in logs.</summary>
    public override string ToString() => $"{Name}{(ReadOnly ? " (read-only)" : string.Empty)}";
}
