namespace Tao.Gateway.Analytics;

/// <summary>One result row: column name → value (JSON-ready: times in ISO 8601 UTC, NaN as null).</summary>
public sealed class AnalyticsRow : Dictionary<string, object?>
{
    public AnalyticsRow() : base(StringComparer.Ordinal)
    {
    }
}
