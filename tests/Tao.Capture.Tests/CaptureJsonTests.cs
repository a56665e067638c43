using System.Text.Json;

namespace Tao.Capture.Tests;

public sealed class CaptureJsonTests
{
    [Fact]
    public void Serialize_UsesSnakeCaseAndEmbedsTheRequestAsAnObject()
    {
        var record = Records.New(1);

        using var json = JsonDocument.Parse(CaptureJson.Serialize(record));

        Assert.Equal(1, json.RootElement.GetProperty("schema_version").GetInt32());
        Assert.Equal(record.RequestId, json.RootElement.GetProperty("request_id").GetGuid());
        Assert.Equal(JsonValueKind.Object, json.RootElement.GetProperty("request_json").ValueKind);
        Assert.Equal("support-bot", json.RootElement.GetProperty("request_json").GetProperty("model").GetString());
        Assert.Equal(JsonValueKind.Null, Records.New(1) is { TtftMs: null } ? JsonValueKind.Null : json.RootElement.GetProperty("ttft_ms").ValueKind);
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
