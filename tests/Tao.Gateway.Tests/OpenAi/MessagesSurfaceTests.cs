using System.Text;
using ClickHouse.Driver.Utility;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Tao.Capture;
using static Tao.Gateway.Tests.GatewayCalls;

namespace Tao.Gateway.Tests.OpenAi;

/// <summary>Anthropic's /v1/messages through the gateway, driven by the official Anthropic .NET SDK.</summary>
[Collection(SurfacesCollection.Name)]
public sealed class MessagesSurfaceTests(SurfacesFixture gateway)
{
    [Fact]
    public async Task Messages_NonStreaming_WithXApiKey_AnswersAndRecordsTheCall()
    {
        var client = gateway.Claude();

        var raw = await client.WithRawResponse.Messages.Create(new MessageCreateParams
        {
            Model = "claude-bot", MaxTokens = 64, System = "Be brief.", Messages = [new UserMessageParam("where is my parcel")],
        });
        var message = await raw.Deserialize(CancellationToken.None);

        Assert.True(message.Content.Single().TryPickText(out var text));
        Assert.Equal("echo: where is my parcel", text!.Text);
        Assert.Equal(4, message.Usage.InputTokens);
        var record = await gateway.WaitForRecordAsync(Guid.Parse(raw.GetHeaderValues("x-tao-request-id").Single()));
        Assert.Equal("messages", record["endpoint"]);
        Assert.Equal((ushort)200, record["status"]);
        Assert.Equal("claude-bot", record["alias"]);
        Assert.Equal("claude-model", record["model"]);
        Assert.Equal("claude-upstream", record["served_model"]);
        Assert.Equal("c1", record["model_version"]);
        Assert.Equal("anthropic", record["cluster"]);
        Assert.Equal("key_support", record["api_key_id"]);
        Assert.Equal("system: Be brief.\nuser: where is my parcel", record["prompt"]);
        Assert.Equal(PromptText.Hash("system: Be brief.\nuser: where is my parcel"), Convert.ToUInt64(record["prompt_hash"]));
        Assert.Equal("echo: where is my parcel", record["response_text"]);
        Assert.Equal("stop", record["finish_reason"]);
        Assert.Equal(false, record["tokens_estimated"]);
        Assert.Equal(4u, record["prompt_tokens"]);
        Assert.Equal(5u, record["completion_tokens"]);
        Assert.NotNull(record["ttft_ms"]);
    }

    [Fact]
    public async Task Messages_UpstreamGetsTheModelsCredentialAndVersion_NeverTheGatewayKey()
    {
        var client = gateway.Claude(headers: new() { ["anthropic-version"] = "2099-01-01" });

        await client.Messages.Create(new MessageCreateParams { Model = "claude-bot", MaxTokens = 64, Messages = [new UserMessageParam("credential check")] });

        var received = gateway.Anthropic.Received.Last(r => r.BodyText.Contains("credential check"));
        Assert.Equal(SurfacesFixture.AnthropicCredential, received.Headers["x-api-key"]);
        Assert.Equal(SurfacesFixture.AnthropicVersion, received.Headers["anthropic-version"]);
        Assert.False(received.Headers.ContainsKey("Authorization"));
        Assert.DoesNotContain(GatewayFixture.ApiKey, string.Join(' ', received.Headers.Values));
        Assert.Contains("\"model\":\"claude-upstream\"", received.BodyText);
    }

    [Fact]
    public async Task Messages_Streaming_WithABearerToken_PassesEventsAndRecordsUsage()
    {
        var client = gateway.Claude(bearer: true);
        var text = new StringBuilder();
        var kinds = new List<string>();

        await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "claude-model", MaxTokens = 64, Messages = [new UserMessageParam("stream my answer please")],
        }))
        {
            kinds.Add((string)e.Type);
            if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var piece))
            {
                text.Append(piece!.Text);
            }
        }

        Assert.Equal("echo: stream my answer please", text.ToString());
        Assert.Equal("message_start", kinds[0]);
        Assert.Equal("message_stop", kinds[^1]);
        Assert.Contains("message_delta", kinds);
        var record = await WaitForPromptAsync("user: stream my answer please");
        Assert.Equal("messages", record["endpoint"]);
        Assert.Equal(true, record["stream"]);
        Assert.Equal("echo: stream my answer please", record["response_text"]);
        Assert.Equal("stop", record["finish_reason"]);
        Assert.Equal(false, record["upstream_truncated"]);
        Assert.Equal(false, record["tokens_estimated"]);
        Assert.Equal(4u, record["prompt_tokens"]);  // from message_start
        Assert.Equal(5u, record["completion_tokens"]); // from message_delta
    }

    [Fact]
    public async Task Messages_SystemBlocksAndToolUse_PlainAndStreamed_AreRecorded()
    {
        var client = gateway.Claude(headers: new() { ["x-fake-tool-call"] = "get_weather" });
        var request = new MessageCreateParams
        {
            Model = "claude-model", MaxTokens = 64,
            System = new List<TextBlockParam> { new("You check the weather."), new("Be brief.") },
            Messages = [new UserMessageParam("weather in Paris?")],
        };

        var message = await client.Messages.Create(request);
        var json = new StringBuilder();
        await foreach (var e in client.Messages.CreateStreaming(request))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickInputJson(out var piece))
            {
                json.Append(piece!.PartialJson);
            }
        }

        Assert.True(message.Content[1].TryPickToolUse(out var toolUse));
        Assert.Equal("get_weather", toolUse!.Name);
        Assert.Equal("""{"city":"Paris","unit":"celsius"}""", json.ToString());
        var records = await WaitForPromptCountAsync("system: You check the weather.\nBe brief.\nuser: weather in Paris?", 2);
        foreach (var record in records)
        {
            Assert.Equal("tool_calls", record["finish_reason"]);
            Assert.Equal("echo: weather in Paris?", record["response_text"]);
            using var calls = JsonDocument.Parse((string)record["tool_calls"]!);
            var call = Assert.Single(calls.RootElement.EnumerateArray());
            Assert.Equal("toolu_fake", call.GetProperty("id").GetString());
            Assert.Equal("get_weather", call.GetProperty("name").GetString());
            using var arguments = JsonDocument.Parse(call.GetProperty("arguments").GetString()!);
            Assert.Equal("Paris", arguments.RootElement.GetProperty("city").GetString());
        }
    }

    [Fact]
    public async Task Messages_StreamCutMidway_TheSdkFailsAndTheRecordIsFlagged()
    {
        var client = gateway.Claude(headers: new() { ["x-fake-cut-after"] = "2", ["x-fake-chunk-delay-ms"] = "30" });
        var text = new StringBuilder();

        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams
            {
                Model = "claude-model", MaxTokens = 64, Messages = [new UserMessageParam("alpha beta gamma delta")],
            }))
            {
                if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var piece))
                {
                    text.Append(piece!.Text);
                }
            }
        });

        Assert.NotNull(failure);
        Assert.Equal("echo: alpha", text.ToString());
        var record = await WaitForPromptAsync("user: alpha beta gamma delta");
        Assert.Equal(true, record["upstream_truncated"]);
    }

    [Fact]
    public async Task Messages_ErrorsAreAnthropicShaped_AndTheSdkRaisesItsOwnExceptions()
    {
        var notFound = await Record.ExceptionAsync(() => gateway.Claude().Messages.Create(new MessageCreateParams
        {
            Model = "no-such-model", MaxTokens = 64, Messages = [new UserMessageParam("hi")],
        }));
        var unauthorized = await Record.ExceptionAsync(() => gateway.Claude("sk-wrong-key").Messages.Create(new MessageCreateParams
        {
            Model = "claude-model", MaxTokens = 64, Messages = [new UserMessageParam("hi")],
        }));

        Assert.IsType<AnthropicNotFoundException>(notFound);
        Assert.IsType<AnthropicUnauthorizedException>(unauthorized);
    }

    [Theory]
    [InlineData(null, """{"model":"claude-model","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""", 401, "authentication_error")]
    [InlineData(GatewayFixture.ApiKey, """{"model":"claude-model","max_tokens":8}""", 400, "invalid_request_error")]
    [InlineData(GatewayFixture.ApiKey, """{"model":"claude-model","max_tokens":8,"messages":[{"role":"user","content":"hi"}],"system":7}""", 400, "invalid_request_error")]
    [InlineData(GatewayFixture.ApiKey, """{"model":"claude-model","messages":[{"role":"user","content":"hi"}""", 400, "invalid_request_error")]
    [InlineData(GatewayFixture.ApiKey, """{"model":"base-model","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error")]
    [InlineData(GatewayFixture.ApiKey, """{"model":"nope","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}""", 404, "not_found_error")]
    public async Task Messages_MalformedOrRefusedRequests_GetAnthropicShapedErrors(string? key, string body, int status, string type)
    {
        using var http = new HttpClient { BaseAddress = gateway.Address };
        using var request = Json("/v1/messages", body);
        if (key is not null)
        {
            request.Headers.Add("x-api-key", key);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal(type, error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("error").GetProperty("message").GetString()));
    }

    [Fact]
    public async Task ChatCompletions_ToAnAnthropicModel_IsRefusedInOpenAisShape()
    {
        using var http = gateway.Http();

        using var response = await http.SendAsync(Json("/v1/chat/completions", """{"model":"claude-model","messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(400, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("model_api_mismatch", error.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    private Task<Dictionary<string, object?>> WaitForPromptAsync(string prompt) => WaitForPromptCountAsync(prompt, 1).ContinueWith(t => t.Result[0]);

    /// <summary>Streaming SDK calls do not expose headers; records are found by their prompt.</summary>
    private async Task<List<Dictionary<string, object?>>> WaitForPromptCountAsync(string prompt, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var parameters = new ClickHouse.Driver.ADO.Parameters.ClickHouseParameterCollection();
            parameters.AddParameter("prompt", prompt);
            var ids = new List<Guid>();
            using (var reader = await gateway.Store.Client.ExecuteReaderAsync(
                $"SELECT request_id FROM {gateway.Database}.captures FINAL WHERE prompt = {{prompt:String}} AND endpoint = 'messages'", parameters))
            {
                while (reader.Read())
                {
                    ids.Add(reader.GetGuid(0));
                }
            }

            if (ids.Count >= count)
            {
                var records = new List<Dictionary<string, object?>>();
                foreach (var id in ids)
                {
                    records.Add(await gateway.WaitForRecordAsync(id));
                }

                return records;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{ids.Count} of {count} records for {prompt}");
            }

            await Task.Delay(50);
        }
    }
}
