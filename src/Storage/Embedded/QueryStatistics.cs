namespace Tao.Storage.Embedded;

/// <summary>What a statement read and wrote, reported in ClickHouse's X-ClickHouse-Summary header.</summary>
internal readonly record struct QueryStatistics(
    ulong ReadRows, ulong ReadBytes, ulong WrittenRows, ulong WrittenBytes, ulong ResultRows, ulong ResultBytes, double ElapsedSeconds)
{
    public string ToSummaryJson() =>
        $$"""{"read_rows":"{{ReadRows}}","read_bytes":"{{ReadBytes}}","written_rows":"{{WrittenRows}}","written_bytes":"{{WrittenBytes}}","total_rows_to_read":"{{ReadRows}}","result_rows":"{{ResultRows}}","result_bytes":"{{ResultBytes}}","elapsed_ns":"{{(ulong)(ElapsedSeconds * 1e9)}}"}""";
}
