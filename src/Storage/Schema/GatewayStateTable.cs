namespace Tao.Storage.Schema;

/// <summary>
/// The gateways' shared runtime state (aliases, models, clusters, keys changed through the admin API): one versioned
/// JSON document per key, latest version wins. Small and rarely written.
/// </summary>
public static class GatewayStateTable
{
    public const string Name = "gateway_state";

    public static IReadOnlyList<Column> Columns { get; } =
    [
        new("key", "String"),
        new("version", "UInt64"),
        new("updated_at", "DateTime64(3, 'UTC')"),
        new("instance", "String"),
        new("state", "String"),
    ];
}
