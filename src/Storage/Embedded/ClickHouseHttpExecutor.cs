using System.Buffers;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace Tao.Storage.Embedded;

/// <summary>
/// Answers ClickHouse's HTTP interface from the embedded engine, so that the very same client code
/// (ClickHouse.Driver, or any ClickHouse HTTP client) runs against chDB and against a real server.
/// </summary>
/// <remarks>
/// Follows the server's rules: the statement is the <c>query</c> URL parameter followed by the body;
/// <c>param_x</c> binds <c>{x:Type}</c> placeholders on the engine side; <c>database</c> and
/// <c>default_format</c> choose the database and the output format; other URL parameters are settings.
/// An INSERT ... FORMAT F streams its data into the engine in chunks, so batch size is not bound by
/// max_query_size. Sessions (session_id) are not supported: each request runs on its own. A read-only caller's
/// statements run with readonly=1 (enforced by the engine); INTO OUTFILE is refused for everyone, since chDB would
/// write the file from this process.
/// </remarks>
internal sealed partial class ClickHouseHttpExecutor(ChdbEngine engine)
{
    private const int PrefixLimit = 256 * 1024;
    private const int QueryLimit = 64 * 1024 * 1024;
    private const int ChunkSize = 256 * 1024;

    // URL parameters the HTTP layer consumes or that have no meaning for an in-process engine.
    private static readonly HashSet<string> s_transportParameters = new(StringComparer.Ordinal)
    {
        "query", "database", "default_format", "query_id", "session_id", "session_timeout", "session_check",
        "compress", "decompress", "user", "password", "quota_key", "buffer_size", "wait_end_of_query",
        "enable_http_compression", "http_zlib_compression_level", "send_progress_in_http_headers",
        "http_headers_progress_interval_ms", "role", "query_plan_cache", "http_response_buffer_size",
        "http_wait_end_of_query", "extremes", "result_overflow_mode_http",
    };

    public async Task<ClickHouseHttpResponse> ExecuteAsync(ClickHouseHttpRequest request, CancellationToken cancellationToken)
    {
        if (request.Path.TrimEnd('/') is "/ping" or "/replicas_status")
        {
            return ClickHouseHttpResponse.Text(200, "Ok.\n");
        }

        string? urlQuery = null;
        var database = "default";
        string? format = null;
        var queryId = Guid.NewGuid().ToString();
        var parameters = new List<KeyValuePair<string, string>>();
        var settings = new List<KeyValuePair<string, string>>();
        foreach (var (name, value) in request.Query)
        {
            switch (name)
            {
                case "query": urlQuery = value; break;
                case "database" when value.Length > 0: database = value; break;
                case "default_format" when value.Length > 0: format = value; break;
                case "query_id" when value.Length > 0: queryId = value; break;
                case "decompress" when value == "1":
                    return ClickHouseHttpResponse.Error(1, "ClickHouse native compression (decompress=1) is not supported by the embedded engine; use Content-Encoding");
                default:
                    if (name.StartsWith("param_", StringComparison.Ordinal))
                    {
                        parameters.Add(new(name["param_".Length..], value));
                    }
                    else if (!s_transportParameters.Contains(name))
                    {
                        if (!SettingName().IsMatch(name) || value.Contains('\0') || !engine.IsSetting(name))
                        {
                            return ClickHouseHttpResponse.Error(115, $"Unknown setting '{name}'");
                        }

                        settings.Add(new(name, value));
                    }

                    break;
            }
        }

        if (request.ReadOnly)
        {
            // Settings are the connection's start-up arguments, where the last of a name wins: the caller's readonly goes.
            // With readonly=1 the engine itself refuses writes, DDL, SET, SETTINGS clauses and file()/url() functions.
            settings.RemoveAll(s => s.Key == "readonly");
            settings.Add(new("readonly", "1"));
        }
        else if (string.Equals(request.Method, "GET", StringComparison.OrdinalIgnoreCase) && !settings.Any(s => s.Key == "readonly"))
        {
            settings.Add(new("readonly", "2"));
        }

        Stream body;
        try
        {
            body = Decode(request.Body, request.ContentEncoding);
        }
        catch (NotSupportedException e)
        {
            return ClickHouseHttpResponse.Error(1, e.Message);
        }

        return await engine.Threads.Run(
            () => RentRunAndReturnAsync(settings, urlQuery, body, database, format ?? "TabSeparated", parameters, queryId, cancellationToken),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs on the engine's threads from renting a connection to giving it back: opening and closing a connection are
    /// calls into chDB too, and a thread chDB starts from a pool thread carries that thread's name (".NET TP Worker")
    /// at the engine's lower priority, indistinguishable from the runtime's own workers.
    /// </summary>
    private async Task<ClickHouseHttpResponse> RentRunAndReturnAsync(
        List<KeyValuePair<string, string>> settings, string? urlQuery, Stream body, string database, string format,
        List<KeyValuePair<string, string>> parameters, string queryId, CancellationToken cancellationToken)
    {
        ChdbConnection connection;
        try
        {
            connection = await engine.RentAsync(settings, cancellationToken).ConfigureAwait(true);
        }
        catch (ChdbException e)
        {
            return ClickHouseHttpResponse.Error(e.Code == 0 ? 115 : e.Code, e.Message);
        }

        try
        {
            var response = await RunAsync(connection, urlQuery, body, database, format, parameters, cancellationToken).ConfigureAwait(true);
            response.Headers["X-ClickHouse-Query-Id"] = queryId;
            response.Headers["X-ClickHouse-Timezone"] = "UTC";
            response.Headers["X-ClickHouse-Server-Display-Name"] = "tao-embedded";
            return response;
        }
        catch (ChdbException e)
        {
            connection.CurrentDatabase = string.Empty; // the failed statement may have left it anywhere
            return ClickHouseHttpResponse.Error(e.Code, e.Message);
        }
        catch (InvalidDataException e)
        {
            return ClickHouseHttpResponse.Error(27, $"Cannot read the request body: {e.Message}");
        }
        finally
        {
            engine.Release(connection);
        }
    }

    private static async Task<ClickHouseHttpResponse> RunAsync(
        ChdbConnection connection, string? urlQuery, Stream body, string database, string format,
        List<KeyValuePair<string, string>> parameters, CancellationToken cancellationToken)
    {
        // Runs on the engine's threads; awaits here resume there (ConfigureAwait(true)) because engine calls follow them.
        UseDatabase(connection, database);

        // The INSERT statement is either in the URL (then the body is all data) or at the head of the body.
        if (urlQuery is not null && InsertHeader().Match(urlQuery) is { Success: true } urlInsert && urlInsert.Length == urlQuery.Length)
        {
            return await InsertAsync(connection, urlInsert.Groups["stmt"].Value, urlInsert.Groups["fmt"].Value,
                ReadOnlyMemory<byte>.Empty, body, parameters, cancellationToken).ConfigureAwait(true);
        }

        var prefix = await ReadAtMostAsync(body, urlQuery is null ? PrefixLimit : 0, cancellationToken).ConfigureAwait(true);
        if (urlQuery is null)
        {
            var head = Encoding.Latin1.GetString(prefix.Span); // one char per byte: match offsets are byte offsets
            if (InsertHeader().Match(head) is { Success: true } bodyInsert)
            {
                var stmt = bodyInsert.Groups["stmt"];
                var statement = Encoding.UTF8.GetString(prefix.Span.Slice(stmt.Index, stmt.Length));
                return await InsertAsync(connection, statement, bodyInsert.Groups["fmt"].Value,
                    prefix[bodyInsert.Length..], body, parameters, cancellationToken).ConfigureAwait(true);
            }
        }

        var rest = await ReadAtMostAsync(body, QueryLimit, cancellationToken).ConfigureAwait(true);
        if (await body.ReadAsync(new byte[1], cancellationToken).ConfigureAwait(true) > 0)
        {
            return ClickHouseHttpResponse.Error(202, $"Query is larger than {QueryLimit} bytes");
        }

        var sql = (urlQuery ?? string.Empty) + Encoding.UTF8.GetString(prefix.Span) + Encoding.UTF8.GetString(rest.Span);
        if (string.IsNullOrWhiteSpace(sql))
        {
            return ClickHouseHttpResponse.Error(62, "Empty query");
        }

        if (WritesAFile(sql) is { } refused)
        {
            return refused;
        }

        if (UseStatement().IsMatch(sql))
        {
            connection.CurrentDatabase = string.Empty;
        }

        var result = connection.Query(sql, format, parameters);
        var response = ClickHouseHttpResponse.FromResult(result, ContentTypeOf(format));
        response.Headers["X-ClickHouse-Format"] = format;
        response.Headers["X-ClickHouse-Summary"] = result.Statistics.ToSummaryJson();
        return response;
    }

    private static async Task<ClickHouseHttpResponse> InsertAsync(
        ChdbConnection connection, string statement, string format, ReadOnlyMemory<byte> head, Stream body,
        List<KeyValuePair<string, string>> parameters, CancellationToken cancellationToken)
    {
        if (WritesAFile(statement) is { } refused)
        {
            return refused;
        }

        using var insert = connection.BeginInsert(statement, format, parameters);
        insert.Append(head.Span);
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            int read;
            while ((read = await ReadChunkAsync(body, buffer, cancellationToken).ConfigureAwait(true)) > 0)
            {
                insert.Append(buffer.AsSpan(0, read));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var result = insert.Complete();
        var response = ClickHouseHttpResponse.FromResult(result, "text/plain; charset=UTF-8");
        response.Headers["X-ClickHouse-Summary"] = result.Statistics.ToSummaryJson();
        return response;
    }

    /// <summary>chDB writes INTO OUTFILE files from this process, readonly or not; a server never does it for HTTP clients.</summary>
    private static ClickHouseHttpResponse? WritesAFile(string statement) => IntoOutfile().IsMatch(statement)
        ? ClickHouseHttpResponse.Error(358, "INTO OUTFILE is not allowed. (INTO_OUTFILE_NOT_ALLOWED)")
        : null;

    private static void UseDatabase(ChdbConnection connection, string database)
    {
        if (connection.CurrentDatabase == database)
        {
            return;
        }

        using (connection.Query($"USE `{database.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("`", "\\`", StringComparison.Ordinal)}`", "TabSeparated"))
        {
        }

        connection.CurrentDatabase = database;
    }

    private static Stream Decode(Stream body, string? contentEncoding) => contentEncoding?.Trim().ToLowerInvariant() switch
    {
        null or "" or "identity" => body,
        "zstd" => new ZstdSharp.DecompressionStream(body),
        "gzip" or "x-gzip" => new GZipStream(body, CompressionMode.Decompress),
        "deflate" => new ZLibStream(body, CompressionMode.Decompress),
        "br" => new BrotliStream(body, CompressionMode.Decompress),
        var other => throw new NotSupportedException($"Content-Encoding '{other}' is not supported by the embedded engine"),
    };

    private static string ContentTypeOf(string format) => format switch
    {
        _ when format.StartsWith("JSON", StringComparison.OrdinalIgnoreCase) => "application/json; charset=UTF-8",
        _ when format.StartsWith("TabSeparated", StringComparison.OrdinalIgnoreCase) || format.StartsWith("TSV", StringComparison.OrdinalIgnoreCase)
            => "text/tab-separated-values; charset=UTF-8",
        _ when format.StartsWith("CSV", StringComparison.OrdinalIgnoreCase) => "text/csv; charset=UTF-8",
        _ when format.StartsWith("Pretty", StringComparison.OrdinalIgnoreCase) => "text/plain; charset=UTF-8",
        _ => "application/octet-stream",
    };

    private static async Task<ReadOnlyMemory<byte>> ReadAtMostAsync(Stream stream, int limit, CancellationToken cancellationToken)
    {
        if (limit == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            while (buffer.Length < limit)
            {
                var read = await stream.ReadAsync(chunk.AsMemory(0, (int)Math.Min(ChunkSize, limit - buffer.Length)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static async Task<int> ReadChunkAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }

    // INSERT INTO <target and columns> FORMAT <name>, then optional blanks and one line break before the data.
    [GeneratedRegex(@"\A\s*(?<stmt>INSERT\s+INTO\s.*?)\s+FORMAT\s+(?<fmt>[A-Za-z][A-Za-z0-9_]*)[ \t]*(\r?\n|\z)", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex InsertHeader();

    // The OUTFILE keyword anywhere outside a longer word: comments may separate it from INTO, so INTO is not required.
    [GeneratedRegex(@"(?<![A-Za-z0-9_$])OUTFILE(?![A-Za-z0-9_$])", RegexOptions.IgnoreCase)]
    private static partial Regex IntoOutfile();

    [GeneratedRegex(@"\A\s*USE\s", RegexOptions.IgnoreCase)]
    private static partial Regex UseStatement();

    [GeneratedRegex(@"\A[A-Za-z_][A-Za-z0-9_]{0,127}\z")]
    private static partial Regex SettingName();
}
