using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Capture.Export;

/// <summary>
/// Writes captured traffic as a training dataset: answered conversational calls (Chat Completions, Responses, Anthropic
/// Messages: one conversation shape for all three), one per prompt (the newest), held-out prompts
/// of the flywheel left out unless asked, a call's demonstration preferred to its answer, text as redacted at
/// capture. The same query serves the CLI (tao export) and the admin API (GET /admin/export), embedded or server.
/// </summary>
public sealed class DatasetExporter(ClickHouseStore store)
{
    public const int SchemaVersion = 1;

    /// <summary>Writes the dataset to <paramref name="output"/> and returns its manifest (counts, filters, SHA-256).</summary>
    public async Task<ExportManifest> WriteAsync(ExportRequest request, Stream output, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var counting = new HashingStream(output, hash);
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        if (request.Format == ExportFormat.Parquet)
        {
            var (sql, parameters) = Query(request, parquet: true);
            // The raw-result path takes no parameter collection; ClickHouse's HTTP interface binds {x:T} from param_x.
            var options = new ClickHouse.Driver.QueryOptions
            {
                CustomSettings = parameters.Cast<ClickHouse.Driver.ADO.Parameters.ClickHouseDbParameter>()
                    .ToDictionary(p => "param_" + p.ParameterName, p => (object)Literal(p.Value)),
            };
            using var result = await store.Client.ExecuteRawResultAsync(sql, options, cancellationToken).ConfigureAwait(false);
            await using var stream = await result.ReadAsStreamAsync().ConfigureAwait(false);
            await stream.CopyToAsync(counting, cancellationToken).ConfigureAwait(false);
            counts["rows"] = Convert.ToInt64(await store.Client.ExecuteScalarAsync($"SELECT count() FROM ({Query(request, parquet: false).Sql})",
                Query(request, parquet: false).Parameters, cancellationToken: cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }
        else
        {
            await WriteJsonLinesAsync(request, counting, counts, cancellationToken).ConfigureAwait(false);
        }

        await counting.FlushAsync(cancellationToken).ConfigureAwait(false);
        return new ExportManifest(SchemaVersion, Name(request.Format), request.Describe(), counts, Convert.ToHexStringLower(hash.GetHashAndReset()),
            counting.BytesWritten, DateTime.UtcNow);
    }

    private static string Literal(object? value) => value switch
    {
        DateTime time => time.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    public static string Name(ExportFormat format) => format switch
    {
        ExportFormat.OpenAiChat => "openai-chat",
        ExportFormat.HfChat => "hf-chat",
        ExportFormat.Preferences => "preferences",
        _ => "parquet",
    };

    public static ExportFormat? Parse(string name) => name switch
    {
        "openai-chat" => ExportFormat.OpenAiChat,
        "hf-chat" => ExportFormat.HfChat,
        "preferences" => ExportFormat.Preferences,
        "parquet" => ExportFormat.Parquet,
        _ => null,
    };

    private async Task WriteJsonLinesAsync(ExportRequest request, Stream output, SortedDictionary<string, long> counts, CancellationToken cancellationToken)
    {
        var (sql, parameters) = Query(request, parquet: false);
        var preferences = request.Format == ExportFormat.Preferences;
        var byPrompt = new Dictionary<ulong, List<Row>>();
        var newline = "\n"u8.ToArray();
        long written = 0;
        using (var reader = await store.Client.ExecuteReaderAsync(sql, parameters, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            while (reader.Read())
            {
                var row = new Row(reader.GetString(0), reader.GetString(1), reader.GetString(2), Convert.ToUInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                    reader.GetString(4), reader.IsDBNull(5) ? null : Convert.ToDouble(reader.GetValue(5), CultureInfo.InvariantCulture), reader.GetString(6));
                Increment(counts, "calls_read");
                if (preferences)
                {
                    if (!byPrompt.TryGetValue(row.PromptHash, out var list))
                    {
                        byPrompt[row.PromptHash] = list = [];
                    }

                    list.Add(row);
                    continue;
                }

                var labelled = request.PreferDemonstrations && row.Demonstration.Length > 0;
                var conversation = ChatMessages.Conversation(row.RequestJson, labelled ? row.Demonstration : row.Response, request.Format == ExportFormat.HfChat, row.Endpoint);
                if (conversation is null)
                {
                    Increment(counts, "skipped_not_a_conversation");
                    continue;
                }

                var line = new JsonObject { ["messages"] = conversation };
                if (request.Format == ExportFormat.HfChat)
                {
                    line["id"] = row.RequestId;
                }

                if (labelled)
                {
                    Increment(counts, "from_demonstrations");
                }

                await WriteLineAsync(output, line, newline, cancellationToken).ConfigureAwait(false);
                if (++written == request.Limit)
                {
                    break;
                }
            }
        }

        if (preferences)
        {
            foreach (var rows in byPrompt.Values)
            {
                foreach (var (chosen, rejected, source) in Pairs(rows, request))
                {
                    var conversation = ChatMessages.Conversation(chosen.RequestJson, "x", plainStrings: true, chosen.Endpoint);
                    if (conversation is null || chosen.Text == rejected.Text)
                    {
                        Increment(counts, "skipped_not_a_conversation");
                        continue;
                    }

                    var line = new JsonObject
                    {
                        ["prompt"] = ChatMessages.Prompt(conversation),
                        ["chosen"] = new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = chosen.Text }),
                        ["rejected"] = new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = rejected.Text }),
                    };
                    Increment(counts, "pairs_from_" + source);
                    await WriteLineAsync(output, line, newline, cancellationToken).ConfigureAwait(false);
                    if (++written == request.Limit)
                    {
                        break;
                    }
                }

                if (written == request.Limit)
                {
                    break;
                }
            }
        }

        counts["lines"] = written;
    }

    /// <summary>
    /// Pairs for one prompt: the best- and worst-rated answers when the metric separates them, and each demonstration
    /// against the answer it corrected.
    /// </summary>
    private static IEnumerable<(Answer Chosen, Answer Rejected, string Source)> Pairs(List<Row> rows, ExportRequest request)
    {
        var rated = rows.Where(r => r.Rating is not null).OrderByDescending(r => r.Rating).ToList();
        if (rated.Count >= 2 && rated[0].Rating > rated[^1].Rating)
        {
            yield return (new Answer(rated[0].RequestJson, rated[0].Response, rated[0].Endpoint), new Answer(rated[^1].RequestJson, rated[^1].Response, rated[^1].Endpoint), "feedback");
        }

        foreach (var row in rows.Where(r => r.Demonstration.Length > 0).Take(1))
        {
            yield return (new Answer(row.RequestJson, row.Demonstration, row.Endpoint), new Answer(row.RequestJson, row.Response, row.Endpoint), "demonstrations");
        }
    }

    private static async Task WriteLineAsync(Stream output, JsonObject line, byte[] newline, CancellationToken cancellationToken)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            line.WriteTo(writer);
        }

        await output.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await output.WriteAsync(newline, cancellationToken).ConfigureAwait(false);
    }

    private static void Increment(SortedDictionary<string, long> counts, string name) => counts[name] = counts.GetValueOrDefault(name) + 1;

    /// <summary>The calls an export takes, newest first; one per prompt except for preferences, which need every rated answer.</summary>
    internal (string Sql, ClickHouseParameterCollection Parameters) Query(ExportRequest request, bool parquet)
    {
        var parameters = new ClickHouseParameterCollection();
        var db = store.Database;
        var clauses = new List<string>
        {
            $"t.endpoint IN ({string.Join(", ", ApiSurfaces.Conversational.Select(s => $"'{s}'"))})", "t.status < 400", "t.response_text != ''",
            "NOT t.upstream_truncated", "NOT t.client_aborted", "NOT t.capture_truncated",
        };
        void Filter(string column, string name, object? value, string type)
        {
            if (value is not null)
            {
                parameters.AddParameter(name, value);
                clauses.Add($"{column} = {{{name}:{type}}}");
            }
        }

        Filter("t.task", "task", request.Task, "String");
        Filter("t.model", "model", request.Model, "String");
        Filter("t.model_version", "version", request.Version, "String");
        Filter("t.api_key_id", "key", request.Key, "String");
        if (request.From is { } from)
        {
            parameters.AddParameter("from", from.UtcDateTime);
            clauses.Add("t.started_at >= {from:DateTime64(6)}");
        }

        if (request.To is { } to)
        {
            parameters.AddParameter("to", to.UtcDateTime);
            clauses.Add("t.started_at < {to:DateTime64(6)}");
        }

        if (!request.IncludeHeldOut)
        {
            clauses.Add($"t.prompt_hash NOT IN (SELECT prompt_hash FROM {db}.{FlywheelTables.RoundInputs} WHERE role = 'held_out')");
        }

        var rating = "CAST(NULL AS Nullable(Float64))";
        var ratingJoin = string.Empty;
        if (request.Metric is { } metric)
        {
            parameters.AddParameter("metric", metric);
            rating = "r.rated";
            ratingJoin = $"LEFT JOIN (SELECT target_id, toNullable(avg(value)) AS rated FROM {db}.{FeedbackTable.Name} FINAL " +
                         "WHERE metric = {metric:String} AND level = 'request' AND value IS NOT NULL GROUP BY target_id) AS r ON r.target_id = toString(t.request_id)";
            if (request.MinValue is { } min)
            {
                parameters.AddParameter("min", min);
                clauses.Add("r.rated >= {min:Float64}");
            }
        }

        var demonstrations = $"LEFT JOIN (SELECT target_id, argMax(demonstration, created_at) AS demonstration FROM {db}.{FeedbackTable.Name} FINAL " +
                             "WHERE metric = 'demonstration' AND level = 'request' GROUP BY target_id) AS d ON d.target_id = toString(t.request_id)";
        var perPrompt = request.Format == ExportFormat.Preferences ? string.Empty : "LIMIT 1 BY t.prompt_hash";
        var limit = request.Limit is { } n && request.Format == ExportFormat.Parquet ? $"LIMIT {n.ToString(CultureInfo.InvariantCulture)}" : string.Empty;
        var columns = parquet
            ? $"toString(t.request_id) AS request_id, t.started_at AS started_at, t.task AS task, t.model AS model, t.model_version AS model_version, " +
              $"t.prompt AS prompt, t.response_text AS response, d.demonstration AS demonstration, {rating} AS rating, t.request_json AS request_json, " +
              $"t.prompt_hash AS prompt_hash, {ApiSurfaces.NormaliseSql("t.endpoint")} AS endpoint"
            : $"toString(t.request_id), t.request_json, t.response_text, t.prompt_hash, d.demonstration, {rating}, toString(t.endpoint)";
        var sql = $"SELECT {columns}\nFROM {db}.{CapturesTable.Name} AS t FINAL\n{demonstrations}\n{ratingJoin}\n" +
                  $"WHERE {string.Join(" AND ", clauses)}\nORDER BY t.started_at DESC\n{perPrompt}\n{limit}" + (parquet ? "\nFORMAT Parquet" : string.Empty);
        return (sql, parameters);
    }

    private sealed record Row(string RequestId, string RequestJson, string Response, ulong PromptHash, string Demonstration, double? Rating, string Endpoint);

    private sealed record Answer(string RequestJson, string Text, string Endpoint);

    /// <summary>Passes writes through while hashing and counting them.</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public long BytesWritten { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            BytesWritten += buffer.Length;
            inner.Write(buffer);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hash.AppendData(buffer.Span);
            BytesWritten += buffer.Length;
            await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
