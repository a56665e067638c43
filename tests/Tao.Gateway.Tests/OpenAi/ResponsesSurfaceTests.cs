#pragma warning disable OPENAI001 // the Responses API is marked experimental in the OpenAI .NET client
using System.Text;
using System.Text.Json;
using OpenAI.Responses;
using Tao.Capture;
using static Tao.Gateway.Tests.GatewayCalls;

namespace Tao.Gateway.Tests.OpenAi;

[CollectionDefinition(Name)]
public sealed class SurfacesCollection : ICollectionFixture<SurfacesFixture>
{
    public const string Name = "surfaces";
}

/// <summary>/v1/responses through the gateway, driven by the official OpenAI .NET client's Responses API.</summary>
[Collection(SurfacesCollection.Name)]
public sealed class ResponsesSurfaceTests(SurfacesFixture gateway)
{
    [Fact]
    public async Task Responses_NonStreaming_AnswersAndRecordsPromptAnswerUsageAndTimings()
    {
        var client = gateway.Responses();
        var options = new CreateResponseOptions("support-bot", [ResponseItem.CreateUserMessageItem("where is my parcel")]) { Instructions = "Be brief." };

        var result = await client.CreateResponseAsync(options);

        Assert.Equal("echo: where is my parcel", result.Value.GetOutputText());
        Assert.Equal(4, result.Value.Usage.InputTokenCount);
        var record = await gateway.WaitForRecordAsync(RequestIdOf(result.GetRawResponse().Headers));
        Assert.Equal("responses", record["endpoint"]);
        Assert.Equal((ushort)200, record["status"]);
        Assert.Equal("base-model", record["model"]);
        Assert.Equal("upstream-base", record["served_model"]);
        Assert.Equal(false, record["stream"]);
        Assert.Equal("system: Be brief.\nuser: where is my parcel", record["prompt"]);
        Assert.Equal("echo: where is my parcel", record["response_text"]);
        Assert.Equal("stop", record["finish_reason"]);
        Assert.Equal(false, record["tokens_estimated"]);
        Assert.Equal(4u, record["prompt_tokens"]);
        Assert.Equal(5u, record["completion_tokens"]);
        Assert.True((double)record["latency_ms"]! > 0);
        Assert.NotNull(record["ttft_ms"]);
        var received = gateway.Upstream.Received.Last(r => r.Path == "/v1/responses" && r.BodyText.Contains("where is my parcel"));
        Assert.Equal($"Bearer {GatewayFixture.UpstreamCredential}", received.Headers["Authorization"]);
        Assert.Contains("\"model\":\"upstream-base\"", received.BodyText);
    }

    [Fact]
    public async Task Responses_Streaming_PassesTheTypedEventsAndReassemblesTheAnswer()
    {
        var client = gateway.Responses();
        var options = new CreateResponseOptions("base-model", [ResponseItem.CreateUserMessageItem("track order 42 please")]) { Instructions = "Be brief.", StreamingEnabled = true };
        var text = new StringBuilder();
        var kinds = new List<string>();

        await using var stream = await client.CreateResponseStreamingAsync(options);
        var requestId = RequestIdOf(stream.Headers);
        await foreach (var update in stream)
        {
            kinds.Add(update.GetType().Name);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
        }

        Assert.Equal("echo: track order 42 please", text.ToString());
        Assert.Equal(nameof(StreamingResponseCreatedUpdate), kinds[0]);
        Assert.Equal(nameof(StreamingResponseCompletedUpdate), kinds[^1]);
        Assert.Equal(5, kinds.Count(k => k == nameof(StreamingResponseOutputTextDeltaUpdate)));
        var record = await gateway.WaitForRecordAsync(requestId);
        Assert.Equal("responses", record["endpoint"]);
        Assert.Equal(true, record["stream"]);
        Assert.Equal("echo: track order 42 please", record["response_text"]);
        Assert.Equal("stop", record["finish_reason"]);
        Assert.Equal(false, record["upstream_truncated"]);
        Assert.Equal(false, record["tokens_estimated"]); // usage comes with response.completed
        Assert.Equal(4u, record["prompt_tokens"]);
        Assert.Equal(5u, record["completion_tokens"]);
        Assert.NotNull(record["ttft_ms"]);
    }

    [Fact]
    public async Task Responses_FunctionCalls_PlainAndStreamed_AreReassembledIntoTheRecord()
    {
        var client = gateway.Responses(headers: new() { ["x-fake-tool-call"] = "get_weather" });
        var options = new CreateResponseOptions("base-model", [ResponseItem.CreateUserMessageItem("weather in Paris?")])
        {
            Tools = { ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""), strictModeEnabled: false) },
        };

        var plain = await client.CreateResponseAsync(options);
        var arguments = new StringBuilder();
        options.StreamingEnabled = true;
        await using var stream = await client.CreateResponseStreamingAsync(options);
        var streamedId = RequestIdOf(stream.Headers);
        await foreach (var update in stream)
        {
            if (update is StreamingResponseFunctionCallArgumentsDeltaUpdate delta)
            {
                arguments.Append(delta.Delta.ToString());
            }
        }

        var call = Assert.IsType<FunctionCallResponseItem>(Assert.Single(plain.Value.OutputItems));
        Assert.Equal("get_weather", call.FunctionName);
        Assert.Equal("""{"city":"Paris","unit":"celsius"}""", arguments.ToString());
        foreach (var id in new[] { RequestIdOf(plain.GetRawResponse().Headers), streamedId })
        {
            var record = await gateway.WaitForRecordAsync(id);
            Assert.Equal("tool_calls", record["finish_reason"]);
            using var calls = JsonDocument.Parse((string)record["tool_calls"]!);
            var recorded = Assert.Single(calls.RootElement.EnumerateArray());
            Assert.Equal("call_fake", recorded.GetProperty("id").GetString());
            Assert.Equal("get_weather", recorded.GetProperty("name").GetString());
            Assert.Equal("""{"city":"Paris","unit":"celsius"}""", recorded.GetProperty("arguments").GetString());
        }
    }

    [Fact]
    public async Task Responses_AndChat_TheSameConversationHasTheSamePromptHash()
    {
        using var http = gateway.Http();
        using var chat = await http.SendAsync(Json("/v1/chat/completions",
            """{"model":"base-model","messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"how do I reset my password"}]}"""));
        using var stringInput = await http.SendAsync(Json("/v1/responses",
            """{"model":"base-model","instructions":"Answer in French.","input":"how do I reset my password"}"""));
        using var itemInput = await http.SendAsync(Json("/v1/responses",
            """{"model":"base-model","input":[{"type":"message","role":"system","content":[{"type":"input_text","text":"Answer in French."}]},{"type":"message","role":"user","content":[{"type":"input_text","text":"how do I reset my password"}]}]}"""));

        var hashes = new List<object?>();
        foreach (var response in new[] { chat, stringInput, itemInput })
        {
            Assert.Equal(200, (int)response.StatusCode);
            var record = await gateway.WaitForRecordAsync(RequestId(response));
            Assert.Equal("system: Answer in French.\nuser: how do I reset my password", record["prompt"]);
            hashes.Add(record["prompt_hash"]);
        }

        Assert.Single(hashes.Distinct());
        Assert.Equal(PromptText.Hash("system: Answer in French.\nuser: how do I reset my password"), Convert.ToUInt64(hashes[0]));
    }

    [Fact]
    public async Task Responses_Streaming_FirstEventReachesTheClientBeforeTheUpstreamSendsTheRest()
    {
        var hold = Guid.NewGuid().ToString("N");
        using var http = gateway.Http();
        using var request = Json("/v1/responses", """{"model":"base-model","stream":true,"input":"first then rest"}""");
        request.Headers.Add("x-fake-hold", hold);

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var seen = new StringBuilder();
        while (!seen.ToString().Contains("response.output_text.delta"))
        {
            seen.AppendLine(await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
        }

        gateway.Upstream.Release(hold);
        var rest = await reader.ReadToEndAsync();

        Assert.DoesNotContain("response.completed", seen.ToString());
        Assert.Contains("event: response.completed", rest);
    }

    [Fact]
    public async Task Responses_StreamCutMidway_ClientGetsAnErrorEventAndTheRecordIsFlagged()
    {
        using var http = gateway.Http();
        using var request = Json("/v1/responses", """{"model":"base-model","stream":true,"input":"one two three four five six"}""");
        request.Headers.Add("x-fake-cut-after", "3");
        request.Headers.Add("x-fake-chunk-delay-ms", "30");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var text = await ReadUntilResetAsync(response);

        Assert.Contains("event: error", text);
        Assert.Contains("\"upstream_stream_interrupted\"", text);
        Assert.DoesNotContain("response.completed", text);
        var record = await gateway.WaitForRecordAsync(RequestId(response));
        Assert.Equal(true, record["upstream_truncated"]);
        Assert.Equal("echo: one two", record["response_text"]);
    }

    [Theory]
    [InlineData("""{"model":"base-model"}""", "missing_input", "input")]
    [InlineData("""{"model":"base-model","input":42}""", "invalid_type", "input")]
    [InlineData("""{"model":"base-model","input":"hi","instructions":["x"]}""", "invalid_type", "instructions")]
    [InlineData("""{"model":"claude-model","input":"hi"}""", "model_api_mismatch", "model")]
    public async Task Responses_MalformedRequests_Get400InOpenAisShape(string body, string code, string param)
    {
        using var http = gateway.Http();

        using var response = await http.SendAsync(Json("/v1/responses", body));

        Assert.Equal(400, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(code, error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(param, error.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Responses_WithoutInput_ButContinuingAStoredResponse_IsForwarded()
    {
        using var http = gateway.Http();

        using var response = await http.SendAsync(Json("/v1/responses", """{"model":"base-model","previous_response_id":"resp_earlier"}"""));

        Assert.Equal(200, (int)response.StatusCode);
    }
}
