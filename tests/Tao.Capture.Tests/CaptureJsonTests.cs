using System.Text.Json;

namespace Tao.Capture.Tests;

public sealed class CaptureJsonTests
{
    [Fact]
    public void Serialize_UsesSnakeCaseAndEmbedsTheRequestAsAnObject()
    {
        var record = Records.New(1);

        using var json = JsonDocument.Parse(CaptureJson.Serialize(record));

        Assert.Equal(CaptureRecord.CurrentSchemaVersion, json.RootElement.GetProperty("schema_version").GetInt32());
        Assert.Equal(4, CaptureRecord.CurrentSchemaVersion);
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("logprobs").ValueKind); // version 3 fields travel on Kafka too
        Assert.Equal(record.RequestId, json.RootElement.GetProperty("request_id").GetGuid());
        Assert.Equal(JsonValueKind.Object, json.RootElement.GetProperty("request_json").ValueKind);
        Assert.Equal("support-bot", json.RootElement.GetProperty("request_json").GetProperty("model").GetString());
        Assert.Equal(JsonValueKind.Null, Records.New(1) is { TtftMs: null } ? JsonValueKind.Null : json.RootElement.GetProperty("ttft_ms").ValueKind);
    }

    [Fact]
    public void Serialize_AttemptsAndToolCallsAreArraysOfObjects()
    {
        var record = Records.New(20);

        using var json = JsonDocument.Parse(CaptureJson.Serialize(record));

        var attempts = json.RootElement.GetProperty("attempts");
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.Equal("connect_failed", attempts[0].GetProperty("error").GetString());
        Assert.Equal(200, attempts[1].GetProperty("status").GetInt32());
        Assert.Equal(9.5, attempts[1].GetProperty("latency_ms").GetDouble());
        Assert.Equal("lookup_order", json.RootElement.GetProperty("tool_calls")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void Deserialize_ARecordOfSchemaVersion1_ReadsWithNoAttemptsOrToolCalls()
    {
        const string v1 = """{"schema_version":1,"request_id":"0190f0f0-0000-7000-8000-000000000001","endpoint":"chat.completions","status":200,"request_json":{"model":"m"}}""";

        var record = CaptureJson.Deserialize(System.Text.Encoding.UTF8.GetBytes(v1));

        Assert.Equal(1, record.SchemaVersion);
        Assert.Empty(record.Attempts);
        Assert.Empty(record.ToolCalls);
        Assert.Equal(ApiSurfaces.Chat, ApiSurfaces.Normalise(record.Endpoint));
    }

    [Theory]
    [InlineData("""{"request_json":"{\"model\":\"m\"}"}""", """{"model":"m"}""")] // the request as an escaped string
    [InlineData("""{"request_json":null}""", "{}")]
    [InlineData("""{"request_json":{ "model" : "m" }}""", """{ "model" : "m" }""")]
    public void Deserialize_ReadsTheRequestAsAnObject_AString_OrNull(string json, string expected) =>
        Assert.Equal(expected, CaptureJson.Deserialize(System.Text.Encoding.UTF8.GetBytes(json)).RequestJson);

    [Fact]
    public void TheRecordSerialisesOnTheGeneratedFastPath()
    {
        // The gateway serialises one record per call on the request path; a [JsonConverter] on one of the record's
        // properties silently sends the whole record through the slower metadata-driven serializer (about 1.5x the time).
        Assert.NotNull(CaptureJson.Default.CaptureRecord.SerializeHandler);
    }

    [Fact]
    public void RoundTrip_KeepsEveryField()
    {
        var record = Records.New(2);

        var back = CaptureJson.Deserialize(CaptureJson.Serialize(record));

        Assert.Equivalent(record, back, strict: true);
    }

    [Fact]
    public void PromptHash_IgnoresCaseAndWhiteSpaceRuns()
    {
        Assert.Equal(PromptText.Hash("user: Where is  my\nparcel?"), PromptText.Hash("USER: where is my parcel?  "));
        Assert.NotEqual(PromptText.Hash("user: where is my parcel?"), PromptText.Hash("user: where is my order?"));
    }
}
