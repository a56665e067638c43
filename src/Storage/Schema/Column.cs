namespace Tao.Storage.Schema;

/// <summary>A table column: name, ClickHouse type, and an optional clause (DEFAULT, TTL, CODEC).</summary>
public sealed record Column(string Name, string Type, string Clause = "")
{
    public string Definition => Clause.Length == 0 ? $"{Name} {Type}" : $"{Name} {Type} {Clause}";
}
