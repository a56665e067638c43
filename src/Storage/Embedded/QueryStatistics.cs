namespace Tao.Storage.Embedded;

/// <summary>What a statement read and wrote, reported in ClickHouse's X-ClickHouse-Summary header.</summary>
internal readonly record struct QueryStatistics(
    ulong ReadRows, ulong ReadBytes, ulong WrittenRows, ulong WrittenBytes, ulong ResultRows, ulong ResultBytes, double ElapsedSeconds)
{
    public string ToSummaryJson() =>
        "{" + string.Join(',',
            Field("read_rows", ReadRows), Field("read_bytes", ReadBytes), Field("written_rows", WrittenRows), Field("written_bytes", WrittenBytes),
            Field("total_rows_to_read", ReadRows), Field("result_rows", ResultRows), Field("result_bytes", ResultBytes),
            Field("elapsed_ns", (ulong)(ElapsedSeconds * 1e9))) + "}";

    // ClickHouse sends every figure as a JSON string.
    private static string Field(string name, ulong value) => $"\"{name}\":\"{value}\"";
}
