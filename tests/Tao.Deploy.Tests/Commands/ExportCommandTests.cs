using System.Text.Json;
using Tao.Capture;
using Tao.Capture.Sinks;
using Tao.Cli;
using Tao.Storage;
using Tao.Storage.Schema;
using Tao.Tests;

namespace Tao.Deploy.Tests.Commands;

/// <summary>tao export as a user runs it: over a data folder's embedded store, into a file and its manifest.</summary>
[Collection(EmbeddedEngineCollection.Name)]
public sealed class ExportCommandTests
{
    [Fact]
    public async Task ExportOpenAiChat_WritesValidLines_AndAManifestThatHashesThem()
    {
        var data = TestEngine.NewFolder("export-cli");
        var options = new ClickHouseOptions { EmbeddedPath = Path.Combine(data, "clickhouse"), Database = "tao" };
        await using (var store = await ClickHouseStore.OpenAsync(options))
        {
            await new SchemaMigrator(store).MigrateAsync();
            var records = new[]
            {
                Record("""[{"role":"system","content":"Be brief."},{"role":"user","content":"What is 2+2?"}]""", "4", 1),
                Record("""[{"role":"user","content":"Capital of France?"}]""", "Paris", 2),
                Record("""[{"role":"user","content":"Capital of France?"}]""", "Paris, France", 3), // same prompt, newer
                Record("""[{"role":"user","content":"broken"}]""", "", 4), // no answer: not an example
            };
            await new ClickHouseSink(store, new ClickHouseSinkOptions()).DeliverAsync(
                records.Select((r, i) => new Capture.Spool.SpoolEntry(i, 1, r.RequestId, CaptureJson.Serialize(r))).ToList(), CancellationToken.None);
        }

        var output = Path.Combine(data, "out", "train.jsonl");
        var exit = await TaoCli.Create().Parse(["export", "--data", data, "--format", "openai-chat", "--out", output]).InvokeAsync();

        Assert.Equal(0, exit);
        var lines = File.ReadAllLines(output);
        Assert.Equal(2, lines.Length);
        Assert.All(lines, line => Assert.Empty(FineTuningValidators.OpenAiChat(line)));
        Assert.Contains(lines, l => l.Contains("Paris, France", StringComparison.Ordinal));
        using var manifest = JsonDocument.Parse(File.ReadAllText(output + ".manifest.json"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(output))),
            manifest.RootElement.GetProperty("sha256").GetString());
        Assert.Equal("openai-chat", manifest.RootElement.GetProperty("format").GetString());
        Assert.Equal(1, manifest.RootElement.GetProperty("schema_version").GetInt32());
    }

    private static CaptureRecord Record(string messages, string answer, int minute) => new()
    {
        RequestId = Guid.NewGuid(), StartedAt = new DateTime(2026, 12, 1, 10, minute, 0, DateTimeKind.Utc),
        CompletedAt = new DateTime(2026, 12, 1, 10, minute, 1, DateTimeKind.Utc), Endpoint = "chat.completions", Status = 200,
        Model = "m", Task = "support", RequestJson = $$"""{"model":"m","messages":{{messages}}}""",
        Prompt = messages, PromptHash = PromptText.Hash(messages), ResponseText = answer,
    };
}
