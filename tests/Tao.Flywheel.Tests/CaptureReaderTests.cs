using System.Text.Json;
using Tao.Capture;
using Tao.Capture.Sinks;
using Tao.Capture.Spool;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Flywheel.Tests;

/// <summary>The flywheel's inputs come from every conversational surface, counted once per conversation.</summary>
public sealed class CaptureReaderTests
{
    [Fact]
    public async Task TheSameConversationOnChatResponsesAndMessages_IsOneInput_AndReadsAsChatMessages()
    {
        await using var store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = TestEngine.NewDatabase("reader") });
        await new SchemaMigrator(store).MigrateAsync();
        var calls = new (string Endpoint, string Json)[]
        {
            (ApiSurfaces.LegacyChat, """{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"where is my parcel"}]}"""),
            (ApiSurfaces.Chat, """{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"where is my parcel"}]}"""),
            (ApiSurfaces.Responses, """{"model":"m","instructions":"Be brief.","input":"where is my parcel"}"""),
            (ApiSurfaces.Messages, """{"model":"m","max_tokens":9,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":"where is my parcel"}]}"""),
            (ApiSurfaces.Responses, """{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"and my invoice"}]}]}"""),
            (ApiSurfaces.Embeddings, """{"model":"m","input":"not a conversation"}"""),
        };
        var started = DateTime.UtcNow.AddMinutes(-1);
        var sink = new ClickHouseSink(store, new ClickHouseSinkOptions());
        var entries = calls.Select((call, i) =>
        {
            using var request = JsonDocument.Parse(call.Json);
            var prompt = PromptText.Extract(request.RootElement, call.Endpoint);
            var record = new CaptureRecord
            {
                RequestId = Guid.CreateVersion7(), StartedAt = started.AddSeconds(i), CompletedAt = started.AddSeconds(i), Endpoint = call.Endpoint,
                Status = 200, Model = "m", Task = "t", RequestJson = call.Json, Prompt = prompt, PromptHash = PromptText.Hash(prompt),
            };
            return new SpoolEntry(i, i, record.RequestId, CaptureJson.Serialize(record));
        }).ToList();
        await sink.DeliverAsync(entries, CancellationToken.None);

        var reader = new CaptureReader(store);
        var inputs = await reader.ReadAsync(["t"], DateTime.UnixEpoch, newer: true, 100, default);

        Assert.Equal(2, await reader.CountNewAsync(["t"], DateTime.UnixEpoch, default));
        Assert.Equal(2, inputs.Count);
        var parcel = inputs.Single(i => i.Messages.Count == 2);
        Assert.Equal(["system", "user"], parcel.Messages.Select(m => m.Role));
        Assert.Equal(["Be brief.", "where is my parcel"], parcel.Messages.Select(m => m.Content));
        Assert.Equal("and my invoice", inputs.Single(i => i.Messages.Count == 1).Messages[0].Content);
    }
}
