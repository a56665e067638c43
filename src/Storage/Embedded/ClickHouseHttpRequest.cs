namespace Tao.Storage.Embedded;

/// <summary>A request to ClickHouse's HTTP interface, independent of the transport that carried it.</summary>
/// <param name="Method">HTTP method; GET is read-only, as on a server.</param>
/// <param name="Path">Request path: "/" runs a query, "/ping" answers "Ok.".</param>
/// <param name="Query">URL parameters: query, database, default_format, query_id, param_*, and settings.</param>
/// <param name="ContentEncoding">Content-Encoding of the body (zstd, gzip, deflate, br) or null.</param>
/// <param name="Body">Request body: the statement, or the data following the statement in the URL.</param>
/// <param name="ReadOnly">True for a read-only user: statements run with readonly=1 whatever the request asks for.</param>
internal sealed record ClickHouseHttpRequest(
    string Method,
    string Path,
    IReadOnlyList<KeyValuePair<string, string>> Query,
    string? ContentEncoding,
    Stream Body,
    bool ReadOnly = false);
