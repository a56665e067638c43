using System.Text.Json;
using ClickHouse.Driver;
using Tao.Capture.Spool;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Capture.Sinks;

/// <summary>
/// Inserts capture records into the captures table with ClickHouse.Driver's binary insert. The table is a
/// ReplacingMergeTree keyed by the record, so a batch re-sent after a crash collapses into one row per request.
/// </summary>
public sealed class ClickHouseSink(ClickHouseStore store, ClickHouseSinkOptions options) : ICaptureSink
{
    private static readonly string[] s_feedbackColumns = FeedbackTable.Columns.Select(c => c.Name).ToArray();
    private readonly string _feedbackTable = $"{store.Database}.{FeedbackTable.Name}";
    private volatile bool _schemaReady;
    private long _jsonBatches;
    private long _refusedJsonBatches;

    /// <summary>Batches of captures the engine took as JSON lines.</summary>
    internal long JsonBatches => Interlocked.Read(ref _jsonBatches);

    /// <summary>Batches the engine refused as JSON lines, sent again through the binary insert.</summary>
    internal long RefusedJsonBatches => Interlocked.Read(ref _refusedJsonBatches);

    /// <summary>What <see cref="InsertCapturesAsync"/> did with a batch.</summary>
    /// <param name="AsJson">The engine took the batch as JSON lines (else it went through the binary insert).</param>
    /// <param name="SetAside">Records that could not be read, by index in the batch, with why.</param>
    public sealed record CaptureInsert(int Inserted, bool AsJson, IReadOnlyList<(int Index, string Reason)> SetAside);

    public string Name => "clickhouse";

    public int MaxBatchRecords => options.MaxBatchRecords;

    public TimeSpan Linger => TimeSpan.FromMilliseconds(options.LingerMs);

    public async Task DeliverAsync(IReadOnlyList<SpoolEntry> batch, CancellationToken cancellationToken)
    {
        // Most batches are captures only: they go as they are, without a copy of the batch's list (thousands of
        // entries, a large-object-heap array per batch). The captures are listed apart only once feedback is met.
        List<SpoolEntry>? capturesApart = null;
        List<object[]>? feedback = null;
        List<(SpoolEntry, string)>? poison = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var entry = batch[i];
            if (!FeedbackJson.IsFeedback(entry.Payload.Span))
            {
                capturesApart?.Add(entry);
                continue;
            }

            capturesApart ??= batch.Take(i).ToList();
            try
            {
                (feedback ??= []).Add(ToRow(FeedbackJson.Deserialize(entry.Payload.Span)));
            }
            catch (JsonException e)
            {
                (poison ??= []).Add((entry, $"unreadable record: {e.Message}"));
            }
        }

        var captures = capturesApart ?? batch;

        if (!_schemaReady)
        {
            // A server that was down at start is migrated when it first answers.
            await new SchemaMigrator(store).MigrateAsync(cancellationToken).ConfigureAwait(false);
            _schemaReady = true;
        }

        if (captures.Count > 0)
        {
            var insert = await InsertCapturesAsync(store, new Payloads(captures), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref insert.AsJson ? ref _jsonBatches : ref _refusedJsonBatches);
            foreach (var (index, reason) in insert.SetAside)
            {
                (poison ??= []).Add((captures[index], reason));
            }
        }

        if (feedback is not null)
        {
            await store.Client.InsertBinaryAsync(_feedbackTable, s_feedbackColumns, feedback, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        if (poison is not null)
        {
            throw new PoisonRecordsException(poison);
        }
    }

    /// <summary>
    /// Inserts capture records (their JSON form, as spooled or as Kafka message values) into the captures table. They go
    /// to the engine as they are, one JSON object per line (JSONEachRow): the record's snake_case names are the table's
    /// column names, its nested request and lists land in their String columns as their JSON text, and nothing is parsed
    /// back into objects here. Should the engine refuse the batch (a record it cannot read), the batch goes again through
    /// the driver's binary insert, record by record as objects, so an unreadable record is set aside and the rest land.
    /// Both ways store the same rows (tested). The sink and the flywheel's ingest of Kafka both write through here.
    /// </summary>
    public static async Task<CaptureInsert> InsertCapturesAsync(ClickHouseStore store, IReadOnlyList<ReadOnlyMemory<byte>> records, CancellationToken cancellationToken)
    {
        var table = $"{store.Database}.{CapturesTable.Name}";
        var setAside = new List<(int, string)>();
        for (var i = 0; i < records.Count; i++)
        {
            if (Unreadable(records[i].Span) is { } why)
            {
                setAside.Add((i, why));
            }
        }

        // Without an unreadable record (the usual case) the batch goes as it is, not copied into a list of its own.
        var readable = (IReadOnlyList<ReadOnlyMemory<byte>>)records;
        if (setAside.Count > 0)
        {
            var unreadable = setAside.Select(s => s.Item1).ToHashSet();
            readable = records.Where((_, i) => !unreadable.Contains(i)).ToList();
        }

        if (readable.Count == 0)
        {
            return new CaptureInsert(0, true, setAside);
        }

        try
        {
            var options = new ClickHouse.Driver.QueryOptions { CustomSettings = s_jsonEachRowSettings };
            using var body = new RecordLinesStream(readable);
            using var response = await store.Client.InsertRawStreamAsync(table, body, "JSONEachRow", CapturesTable.InsertColumns,
                useCompression: !store.IsEmbedded, options, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            return new CaptureInsert(readable.Count, true, setAside);
        }
        catch (ClickHouseServerException)
        {
            // Refused as a whole: find the record the engine could not read by reading each as an object.
        }

        setAside.Clear();
        var rows = new List<object[]>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            try
            {
                rows.Add(ToRow(CaptureJson.Deserialize(records[i].Span)));
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                setAside.Add((i, $"unreadable record: {e.Message}"));
            }
        }

        if (rows.Count > 0)
        {
            await store.Client.InsertBinaryAsync(table, CapturesTable.InsertColumns, rows, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return new CaptureInsert(rows.Count, false, setAside);
    }

    /// <summary>The payloads of a batch's entries, as a list view rather than a copy.</summary>
    private sealed class Payloads(IReadOnlyList<SpoolEntry> entries) : IReadOnlyList<ReadOnlyMemory<byte>>
    {
        public ReadOnlyMemory<byte> this[int index] => entries[index].Payload;

        public int Count => entries.Count;

        public IEnumerator<ReadOnlyMemory<byte>> GetEnumerator() => entries.Select(e => e.Payload).GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>How the engine reads a spooled record: nested values as their JSON text, timestamps in ISO 8601, unknown names skipped.</summary>
    private static readonly Dictionary<string, object> s_jsonEachRowSettings = new()
    {
        ["input_format_json_read_objects_as_strings"] = 1,
        ["input_format_json_read_arrays_as_strings"] = 1,
        ["input_format_skip_unknown_fields"] = 1,
        ["date_time_input_format"] = "best_effort",
    };

    /// <summary>Why the bytes are not one well-formed JSON object, or null when they are (read without allocating).</summary>
    private static string? Unreadable(ReadOnlySpan<byte> payload)
    {
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "unreadable record: a capture record is a JSON object";
            }

            reader.Skip();
            return reader.Read() ? "unreadable record: bytes after the record's JSON object" : null;
        }
        catch (JsonException e)
        {
            return $"unreadable record: {e.Message}";
        }
    }

    /// <summary>Values in the order of <see cref="FeedbackTable.Columns"/>.</summary>
    public static object[] ToRow(FeedbackRecord f) =>
    [
        f.FeedbackId, f.TargetId, f.Level, f.Metric, f.ValueKind, f.Value is { } v ? v : DBNull.Value, f.Comment, f.Demonstration, f.Tags,
        f.ApiKeyId, f.CreatedAt, f.Gateway,
    ];

    /// <summary>Values in the order of <see cref="CapturesTable.InsertColumns"/>.</summary>
    public static object[] ToRow(CaptureRecord r) =>
    [
        r.RequestId, (byte)r.SchemaVersion, r.StartedAt, r.CompletedAt, r.LatencyMs, r.TtftMs is { } ttft ? ttft : DBNull.Value,
        r.Endpoint, (ushort)r.Status, r.ErrorType, r.ErrorMessage, r.RequestedModel, r.Alias, r.Model, r.ServedModel,
        r.ModelVersion, r.Cluster, r.Upstream, r.ApiKeyId, r.Task, r.EpisodeId, r.EndUser, r.Gateway, r.Stream, r.RequestJson,
        r.Prompt, r.PromptHash, r.ResponseText, r.FinishReason, (uint)r.PromptTokens, (uint)r.CompletionTokens,
        r.TokensEstimated, r.ClientAborted, r.UpstreamTruncated, r.CaptureTruncated,
        CaptureJson.Serialize(r.Attempts), CaptureJson.Serialize(r.ToolCalls),
        CaptureJson.Serialize(r.Choices), r.Reasoning, r.Refusal, r.ResponseFormat, CaptureJson.Serialize(r.Logprobs),
        r.TokenIds.Select(i => (uint)i).ToArray(), r.PromptTokenIds.Select(i => (uint)i).ToArray(),
    ];

    public async Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await store.Client.PingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or ClickHouseServerException or TaskCanceledException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
