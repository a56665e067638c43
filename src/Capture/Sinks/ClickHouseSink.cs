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
    private readonly string _table = $"{store.Database}.{CapturesTable.Name}";
    private readonly string _feedbackTable = $"{store.Database}.{FeedbackTable.Name}";
    private volatile bool _schemaReady;

    public string Name => "clickhouse";

    public int MaxBatchRecords => options.MaxBatchRecords;

    public TimeSpan Linger => TimeSpan.FromMilliseconds(options.LingerMs);

    public async Task DeliverAsync(IReadOnlyList<SpoolEntry> batch, CancellationToken cancellationToken)
    {
        var rows = new List<object[]>(batch.Count);
        List<object[]>? feedback = null;
        List<(SpoolEntry, string)>? poison = null;
        foreach (var entry in batch)
        {
            try
            {
                if (FeedbackJson.IsFeedback(entry.Payload.Span))
                {
                    (feedback ??= []).Add(ToRow(FeedbackJson.Deserialize(entry.Payload.Span)));
                }
                else
                {
                    rows.Add(ToRow(CaptureJson.Deserialize(entry.Payload.Span)));
                }
            }
            catch (JsonException e)
            {
                (poison ??= []).Add((entry, $"unreadable record: {e.Message}"));
            }
        }

        if (!_schemaReady)
        {
            // A server that was down at start is migrated when it first answers.
            await new SchemaMigrator(store).MigrateAsync(cancellationToken).ConfigureAwait(false);
            _schemaReady = true;
        }

        if (rows.Count > 0)
        {
            await store.Client.InsertBinaryAsync(_table, CapturesTable.InsertColumns, rows, cancellationToken: cancellationToken).ConfigureAwait(false);
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
