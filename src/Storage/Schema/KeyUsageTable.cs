namespace Tao.Storage.Schema;

/// <summary>
/// What each gateway replica has let each API key use, per minute: requests, tokens, spend (micro-USD) and streams
/// running. Every replica writes its own cumulative row for the current minute (the latest version wins) and reads
/// the others', so rate limits and budgets hold across replicas and survive restarts.
/// </summary>
public static class KeyUsageTable
{
    public const string Name = "key_usage";

    public static IReadOnlyList<Column> Columns { get; } =
    [
        new("key_id", "String"),
        new("window", "DateTime('UTC')"),
        new("instance", "String"),
        new("requests", "UInt64"),
        new("tokens", "UInt64"),
        new("cost_micros", "UInt64"),
        new("streams", "UInt32"),
        new("updated", "DateTime64(3, 'UTC')"),
    ];
}
