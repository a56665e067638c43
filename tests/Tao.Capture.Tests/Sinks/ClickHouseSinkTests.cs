using ClickHouse.Driver.Utility;
using Microsoft.Extensions.Logging.Abstractions;
using Tao.Capture.Sinks;
using Tao.Capture.Spool;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Capture.Tests.Sinks;

/// <summary>The ClickHouse sink through ClickHouse.Driver against the embedded engine.</summary>
public sealed class ClickHouseSinkTests : IAsyncLifetime
{
    private ClickHouseStore _store = null!;

    public async Task InitializeAsync()
    {
        _store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = TestEngine.NewDatabase("sink") });
        await new SchemaMigrator(_store).MigrateAsync();
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task Deliver_WritesEveryFieldOfTheRecord()
    {
        var sink = new ClickHouseSink(_store, new ClickHouseSinkOptions());
        var record = Records.New(4);

        await sink.DeliverAsync([Entry(record)], CancellationToken.None);

        using var reader = await _store.Client.ExecuteReaderAsync($"SELECT * FROM {_store.Database}.captures FINAL");
        Assert.True(reader.Read());
        Assert.Equal(record.RequestId, reader.GetGuid(reader.GetOrdinal("request_id")));
        Assert.Equal(record.Prompt, reader.GetString(reader.GetOrdinal("prompt")));
        Assert.Equal(record.PromptHash, Convert.ToUInt64(reader.GetValue(reader.GetOrdinal("prompt_hash"))));
        Assert.Equal(record.TtftMs, (double)reader.GetValue(reader.GetOrdinal("ttft_ms")));
        Assert.Equal("support", reader.GetString(reader.GetOrdinal("task")));
        Assert.False(reader.Read());
    }

    [Fact]
    public async Task FeedbackInTheSameSpool_LandsInTheFeedbackTable_LatestPerTargetMetricAndKey()
    {
        var sink = new ClickHouseSink(_store, new ClickHouseSinkOptions());
        var call = Records.New(5);
        FeedbackRecord Rating(double value, int second) => new()
        {
            FeedbackId = Guid.NewGuid(), TargetId = call.RequestId.ToString(), Metric = "rating", ValueKind = "float", Value = value,
            ApiKeyId = "key_support", CreatedAt = new DateTime(2026, 12, 1, 10, 0, second, DateTimeKind.Utc), Tags = { ["source"] = "web" },
        };

        // Captures before, between and after the feedback: the batch is split into its two tables whatever the order.
        await sink.DeliverAsync([Entry(call), FeedbackEntry(Rating(2, 1)), Entry(Records.New(6)), FeedbackEntry(Rating(4, 2)), Entry(Records.New(7))],
            CancellationToken.None);
        await sink.DeliverAsync([FeedbackEntry(Rating(4, 2))], CancellationToken.None); // a batch re-sent after a crash

        Assert.Equal(3L, Convert.ToInt64(await _store.Client.ExecuteScalarAsync($"SELECT count() FROM {_store.Database}.captures")));
        using var reader = await _store.Client.ExecuteReaderAsync(
            $"SELECT value, tags['source'], level FROM {_store.Database}.feedback FINAL WHERE target_id = '{call.RequestId}'");
        Assert.True(reader.Read());
        Assert.Equal(4.0, Convert.ToDouble(reader.GetValue(0)));
        Assert.Equal("web", reader.GetString(1));
        Assert.Equal("request", reader.GetString(2));
        Assert.False(reader.Read());
    }

    [Fact]
    public async Task Deliver_KeepsAttemptsAndToolCallsAsJsonArrays()
    {
        var sink = new ClickHouseSink(_store, new ClickHouseSinkOptions());
        var record = Records.New(20); // a failed attempt before the answer, and a tool call

        await sink.DeliverAsync([Entry(record)], CancellationToken.None);

        var parameters = new ClickHouse.Driver.ADO.Parameters.ClickHouseParameterCollection();
        parameters.AddParameter("id", record.RequestId);
        using var reader = await _store.Client.ExecuteReaderAsync(
            $"SELECT JSONLength(attempts), JSONExtractString(attempts, 1, 'error'), JSONExtractUInt(attempts, 2, 'status'), JSONExtractString(tool_calls, 1, 'name') " +
            $"FROM {_store.Database}.captures FINAL WHERE request_id = {{id:UUID}}", parameters);
        Assert.True(reader.Read());
        Assert.Equal(2UL, Convert.ToUInt64(reader.GetValue(0)));
        Assert.Equal("connect_failed", reader.GetString(1));
        Assert.Equal(200UL, Convert.ToUInt64(reader.GetValue(2)));
        Assert.Equal("lookup_order", reader.GetString(3));
    }

    [Fact]
    public async Task AnUnreadableRecord_IsSetAsideAndTheRestOfTheBatchLands()
    {
        var sink = new ClickHouseSink(_store, new ClickHouseSinkOptions());
        var good = Records.New(8);
        var bad = new SpoolEntry(1, 1, Guid.NewGuid(), "{\"request_id\": \"not a uuid\", \"started_at\": 12"u8.ToArray());

        var error = await Assert.ThrowsAsync<PoisonRecordsException>(() => sink.DeliverAsync([Entry(good), bad], CancellationToken.None));

        Assert.Single(error.Records);
        Assert.Equal(1L, Convert.ToInt64(await _store.Client.ExecuteScalarAsync(
            $"SELECT count() FROM {_store.Database}.captures WHERE request_id = '{good.RequestId}'")));
    }

    [Fact]
    public async Task ReplayAfterACrash_LeavesExactlyOneRowPerRequest()
    {
        using var spool = new CaptureSpool(new SpoolOptions { Path = TestEngine.NewFolder("chspool"), SegmentBytes = 1024 * 1024, FlushPolicy = SpoolFlushPolicy.None });
        // The first delivery persists the rows but "crashes" before the spool position is committed.
        var sink = new CrashAfterFirstInsert(new ClickHouseSink(_store, new ClickHouseSinkOptions { LingerMs = 0 }));
        var records = Enumerable.Range(0, 500).Select(i => Records.New(i)).ToList();
        foreach (var record in records)
        {
            spool.Append(record.RequestId, CaptureJson.Serialize(record));
        }

        var shipper = new SinkShipper(spool, sink, NullLogger<SinkShipper>.Instance, TimeProvider.System);
        await shipper.StartAsync(CancellationToken.None);
        await KafkaSinkTests.WaitUntilAsync(() => shipper.Status.CommittedPosition == spool.End);
        await shipper.StopAsync(CancellationToken.None);

        Assert.True(sink.Inserts >= 2, "the batch must have been delivered twice");
        var raw = Convert.ToInt64(await _store.Client.ExecuteScalarAsync($"SELECT count() FROM {_store.Database}.captures"));
        var final = Convert.ToInt64(await _store.Client.ExecuteScalarAsync($"SELECT count() FROM {_store.Database}.captures FINAL"));
        var distinct = Convert.ToInt64(await _store.Client.ExecuteScalarAsync($"SELECT uniqExact(request_id) FROM {_store.Database}.captures"));
        Assert.True(raw >= 1000, $"both deliveries were written ({raw} rows before merging)");
        Assert.Equal(500, final);
        Assert.Equal(500, distinct);
        await _store.Client.ExecuteNonQueryAsync($"OPTIMIZE TABLE {_store.Database}.captures FINAL");
        Assert.Equal(500L, Convert.ToInt64(await _store.Client.ExecuteScalarAsync($"SELECT count() FROM {_store.Database}.captures")));
    }

    [Fact]
    public async Task SpooledJson_StoresTheSameRowsAsTheBinaryInsertOfTheRecords()
    {
        // The sink ships the spooled bytes as JSONEachRow; the ingest of Kafka (and the sink's fallback) inserts the
        // records as objects through RowBinary. Every column must come out the same either way.
        var records = Enumerable.Range(0, 24).Select(i => Records.New(i)).ToList();
        records[1].ErrorType = "upstream_error";
        records[1].ErrorMessage = "quote \" backslash \\ newline \n tab \t émoji 🙂";
        records[2].Choices = ["first", "second \"quoted\""];
        records[2].Logprobs = [new CaptureLogProb { Token = "a", Logprob = -0.25 }, new CaptureLogProb { Token = "b", Logprob = -1.5 }];
        records[2].TokenIds = [1, 2, int.MaxValue];
        records[2].PromptTokenIds = [7, 8];
        records[3].RequestJson = """{"model":"m","messages":[{"role":"user","content":"caf\u00e9 \"q\" \\ 🙂"}],"temperature":0.5,"n":null}""";
        records[4].Reasoning = "thought";
        records[4].Refusal = "no";
        records[4].ResponseFormat = "json_schema";
        records[5].PromptHash = ulong.MaxValue;
        records[6].StartedAt = new DateTime(2026, 12, 1, 23, 59, 59, DateTimeKind.Utc).AddTicks(1_234_567);
        await using var binary = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = TestEngine.NewDatabase("sinkbin") });
        await new SchemaMigrator(binary).MigrateAsync();

        var sink = new ClickHouseSink(_store, new ClickHouseSinkOptions());
        await sink.DeliverAsync(records.Select(Entry).ToList(), CancellationToken.None);
        Assert.Equal((1L, 0L), (sink.JsonBatches, sink.RefusedJsonBatches));
        await binary.Client.InsertBinaryAsync($"{binary.Database}.captures", CapturesTable.InsertColumns,
            records.Select(r => ClickHouseSink.ToRow(CaptureJson.Deserialize(CaptureJson.Serialize(r)))).ToList());

        var viaJson = await RowsAsync(_store);
        var viaBinary = await RowsAsync(binary);
        Assert.Equal(records.Count, viaJson.Split('\u001e').Length);
        Assert.Equal(viaBinary, viaJson);
    }

    [Fact]
    public async Task AWellFormedRecordTheEngineCannotRead_IsSetAsideAndTheRestOfTheBatchLands()
    {
        var sink = new ClickHouseSink(_store, new ClickHouseSinkOptions());
        var good = Records.New(9);
        var bad = new SpoolEntry(1, 1, Guid.NewGuid(), "{\"request_id\": \"not a uuid\", \"started_at\": 12}"u8.ToArray());

        var error = await Assert.ThrowsAsync<PoisonRecordsException>(() => sink.DeliverAsync([Entry(good), bad], CancellationToken.None));

        Assert.Equal((0L, 1L), (sink.JsonBatches, sink.RefusedJsonBatches));
        Assert.Single(error.Records);
        Assert.Equal(1L, Convert.ToInt64(await _store.Client.ExecuteScalarAsync(
            $"SELECT count() FROM {_store.Database}.captures WHERE request_id = '{good.RequestId}'")));
    }

    /// <summary>Every inserted column of every row as text, rows in request id order.</summary>
    private static async Task<string> RowsAsync(ClickHouseStore store)
    {
        var columns = string.Join(", '|', ", CapturesTable.InsertColumns.Select(c => $"ifNull(toString({c}), 'NULL')"));
        return (string)(await store.Client.ExecuteScalarAsync(
            $"SELECT arrayStringConcat(groupArray(line), char(30)) FROM (SELECT concat({columns}) AS line FROM {store.Database}.captures FINAL ORDER BY request_id)"))!;
    }

    private static SpoolEntry Entry(CaptureRecord record) => new(0, 1, record.RequestId, CaptureJson.Serialize(record));

    private sealed class CrashAfterFirstInsert(ICaptureSink inner) : ICaptureSink
    {
        public int Inserts { get; private set; }
        public string Name => inner.Name;
        public int MaxBatchRecords => inner.MaxBatchRecords;
        public TimeSpan Linger => inner.Linger;

        public async Task DeliverAsync(IReadOnlyList<SpoolEntry> batch, CancellationToken cancellationToken)
        {
            await inner.DeliverAsync(batch, cancellationToken);
            if (++Inserts == 1)
            {
                throw new IOException("simulated crash after the insert, before the commit");
            }
        }

        public Task<bool> CheckAsync(CancellationToken cancellationToken) => inner.CheckAsync(cancellationToken);
        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    private static SpoolEntry FeedbackEntry(FeedbackRecord record) => new(1, 1, record.FeedbackId, FeedbackJson.Serialize(record));
}
