using System.ClientModel;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using static Tao.Gateway.Tests.GatewayCalls;

namespace Tao.Gateway.Tests.Capture;

/// <summary>The gateway in front of a fake upstream, driven by the official OpenAI .NET client, capturing every call.</summary>
public sealed class CaptureFunctionalTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task ChatCompletion_NonStreaming_AnswersAndRecordsTheCall()
    {
        var client = gateway.Chat("support-bot");

        var result = await client.CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("where is my parcel")]);

        Assert.Equal("echo: where is my parcel", result.Value.Content[0].Text);
        var requestId = RequestId(result.GetRawResponse());
        var record = await gateway.WaitForRecordAsync(requestId);
        Assert.Equal("chat", record["endpoint"]);
        Assert.Equal((ushort)200, record["status"]);
        Assert.Equal("support-bot", record["requested_model"]);
        Assert.Equal("support-bot", record["alias"]);
        Assert.Equal("base-model", record["model"]);
        Assert.Equal("upstream-base", record["served_model"]);
        Assert.Equal("base", record["model_version"]);
        Assert.Equal("fake", record["cluster"]);
        Assert.StartsWith(gateway.Upstream.Address.ToString().TrimEnd('/'), (string)record["upstream"]!);
        Assert.Equal("key_support", record["api_key_id"]);
        Assert.Equal("support", record["task"]);
        Assert.Equal("gw-test", record["gateway"]);
        Assert.Equal(false, record["stream"]);
        Assert.Equal("system: Be brief.\nuser: where is my parcel", record["prompt"]);
        Assert.Equal("echo: where is my parcel", record["response_text"]);
        Assert.Equal("stop", record["finish_reason"]);
        Assert.Equal(false, record["tokens_estimated"]);
        Assert.Equal(4u, record["prompt_tokens"]);
        Assert.Equal(5u, record["completion_tokens"]);
        Assert.True((double)record["latency_ms"]! > 0);
        Assert.NotNull(record["ttft_ms"]);
        using var request = JsonDocument.Parse((string)record["request_json"]!);
        Assert.Equal("support-bot", request.RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task ChatCompletion_Streaming_PassesChunksAndReassemblesTheAnswer()
    {
        var client = gateway.Chat("base-model");
        var text = new StringBuilder();
        var updates = 0;
        var stream = client.CompleteChatStreamingAsync([new UserChatMessage("track order 42 please")]);
        await foreach (var update in stream)
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal("echo: track order 42 please", text.ToString());
        Assert.True(updates >= 5, $"expected chunk-by-chunk updates, got {updates}");
        var requestId = LastRequestIdFor("track order 42 please");
        var record = await gateway.WaitForRecordAsync(requestId);
        Assert.Equal(true, record["stream"]);
        Assert.Equal("echo: track order 42 please", record["response_text"]);
        Assert.Equal("stop", record["finish_reason"]);
        Assert.Equal(false, record["upstream_truncated"]);
        // The OpenAI client asks for usage on streams (stream_options.include_usage): exact counts.
        Assert.Equal(false, record["tokens_estimated"]);
        Assert.Equal(4u, record["prompt_tokens"]);
        Assert.Equal(5u, record["completion_tokens"]);
    }

    [Fact]
    public async Task Streaming_WithoutUsage_TokensAreCountedPerDeltaAndMarkedEstimated()
    {
        using var http = gateway.Http();
        using var request = Json("/v1/chat/completions", """{"model":"base-model","stream":true,"messages":[{"role":"user","content":"estimate these streamed tokens"}]}""");

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.EndsWith("data: [DONE]\n\n", text);
        var record = await gateway.WaitForRecordAsync(RequestId(response));
        Assert.Equal(true, record["tokens_estimated"]);
        Assert.Equal("echo: estimate these streamed tokens", record["response_text"]);
        Assert.InRange((uint)record["prompt_tokens"]!, 5u, 12u);
        Assert.InRange((uint)record["completion_tokens"]!, 5u, 8u);
    }

    [Fact]
    public async Task Streaming_FirstChunkReachesTheClientBeforeTheUpstreamSendsTheSecond()
    {
        // The upstream holds the stream after its first chunk until this test has read that chunk through the
        // gateway: a gateway that buffered the stream would never deliver it, and the read would time out.
        var hold = Guid.NewGuid().ToString("N");
        using var http = gateway.Http();
        using var request = Json("/v1/chat/completions", """{"model":"base-model","stream":true,"messages":[{"role":"user","content":"first then rest"}]}""");
        request.Headers.Add("x-fake-hold", hold);

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var firstEvent = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        gateway.Upstream.Release(hold);
        var rest = await reader.ReadToEndAsync();

        Assert.Contains("\"echo:\"", firstEvent);
        Assert.DoesNotContain("first", firstEvent);
        Assert.Contains(" first", rest);
        Assert.EndsWith("data: [DONE]\n\n", rest);
    }

    [Fact]
    public async Task ChatCompletion_UpstreamOmitsUsage_TokensAreCountedAndMarkedEstimated()
    {
        using var http = gateway.Http();
        using var request = Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"count my tokens"}]}""");
        request.Headers.Add("x-fake-no-usage", "1");

        using var response = await http.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        var record = await gateway.WaitForRecordAsync(RequestId(response));
        Assert.Equal(true, record["tokens_estimated"]);
        Assert.True((uint)record["prompt_tokens"]! >= 3);
        Assert.Equal(5u, record["completion_tokens"]); // "echo: count my tokens" in o200k_base
    }

    [Fact]
    public async Task Request_UpstreamSeesItsOwnModelNameAndCredentialNeverTheGatewayKey()
    {
        using var http = gateway.Http();
        using var request = Json("/v1/chat/completions", """{"model":"support-bot","messages":[{"role":"user","content":"credential check"}]}""");

        using var response = await http.SendAsync(request);

        Assert.Equal(200, (int)response.StatusCode);
        var received = gateway.Upstream.Received.Last(r => r.BodyText.Contains("credential check"));
        Assert.Equal($"Bearer {GatewayFixture.UpstreamCredential}", received.Headers["Authorization"]);
        Assert.DoesNotContain(GatewayFixture.ApiKey, string.Join(' ', received.Headers.Values));
        Assert.Equal("""{"model":"upstream-base","messages":[{"role":"user","content":"credential check"}]}""", received.BodyText);
    }

    [Fact]
    public async Task Record_SecretFieldsAndConfiguredPatternsNeverReachTheStore()
    {
        using var http = gateway.Http();
        const string body = """
            {"model":"base-model","api_key":"sk-should-not-be-kept","metadata":{"password":"hunter2"},
             "messages":[{"role":"user","content":"mail me at jane.doe@example.com, card 4111 1111 1111 1111"}]}
            """;
        using var request = Json("/v1/chat/completions", body);

        using var response = await http.SendAsync(request);

        var record = await gateway.WaitForRecordAsync(RequestId(response));
        var stored = string.Join('\n', record.Values.Select(v => v?.ToString()));
        Assert.DoesNotContain("sk-should-not-be-kept", stored);
        Assert.DoesNotContain("hunter2", stored);
        Assert.DoesNotContain("jane.doe@example.com", stored);
        Assert.DoesNotContain("4111 1111 1111 1111", stored);
        Assert.DoesNotContain(GatewayFixture.ApiKey, stored);
        Assert.Contains("[EMAIL]", (string)record["prompt"]!);
        Assert.Contains("[CARD]", (string)record["prompt"]!);
    }

    [Fact]
    public async Task Streaming_UpstreamDiesMidStream_ClientGetsAnErrorEventNotACleanEnd()
    {
        using var http = gateway.Http();
        using var request = Json("/v1/chat/completions", """{"model":"base-model","stream":true,"messages":[{"role":"user","content":"one two three four five six"}]}""");
        request.Headers.Add("x-fake-cut-after", "3");
        request.Headers.Add("x-fake-chunk-delay-ms", "30"); // a real stream dies after a while, not in its first packet

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var text = await ReadUntilFailureAsync(response);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.DoesNotContain("[DONE]", text);
        Assert.Contains("\"upstream_stream_interrupted\"", text);
        Assert.EndsWith("<reset>", text);
        var record = await gateway.WaitForRecordAsync(RequestId(response));
        Assert.Equal(true, record["upstream_truncated"]);
        Assert.Equal("echo: one two", record["response_text"]);
    }

    [Fact]
    public async Task Streaming_UpstreamDiesMidStream_OpenAiClientFailsInsteadOfEndingCleanly()
    {
        var client = gateway.Chat("base-model", headers: new() { ["x-fake-cut-after"] = "2", ["x-fake-chunk-delay-ms"] = "30" });
        var text = new StringBuilder();

        var failure = await Record.ExceptionAsync(async () =>
        {
            await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("alpha beta gamma delta")]))
            {
                text.Append(update.ContentUpdate.FirstOrDefault()?.Text);
            }
        });

        Assert.NotNull(failure);
        Assert.Equal("echo: alpha", text.ToString());
    }

    [Fact]
    public async Task UpstreamUnreachable_OpenAiClientGets502WithAnOpenAiError()
    {
        var failure = await Record.ExceptionAsync(() => gateway.Chat("dead-model").CompleteChatAsync([new UserChatMessage("hi")]));

        var clientError = Assert.IsType<ClientResultException>(failure);
        Assert.Equal(502, clientError.Status);
        Assert.Contains("upstream", clientError.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Completions_AndEmbeddings_AreProxiedAndRecorded()
    {
        using var http = gateway.Http();
        using var completion = await http.SendAsync(Json("/v1/completions", """{"model":"base-model","prompt":"legacy prompt"}"""));
        using var embedding = await http.SendAsync(Json("/v1/embeddings", """{"model":"base-model","input":"embed me"}"""));

        Assert.Equal(200, (int)completion.StatusCode);
        Assert.Equal(200, (int)embedding.StatusCode);
        var completionRecord = await gateway.WaitForRecordAsync(RequestId(completion));
        var embeddingRecord = await gateway.WaitForRecordAsync(RequestId(embedding));
        Assert.Equal("completions", completionRecord["endpoint"]);
        Assert.Equal("echo: legacy prompt", completionRecord["response_text"]);
        Assert.Equal("embeddings", embeddingRecord["endpoint"]);
        Assert.Equal("embed me", embeddingRecord["prompt"]);
        Assert.Equal(3u, embeddingRecord["prompt_tokens"]);
        Assert.Equal(false, embeddingRecord["tokens_estimated"]);
    }

    [Fact]
    public async Task WhatTrainersNeed_IsCaptured_EveryChoiceReasoningRefusalFormatAndLogProbs()
    {
        using var http = gateway.Http();
        using var plain = Json("/v1/chat/completions",
            """{"model":"base-model","n":2,"logprobs":true,"response_format":{"type":"json_schema","json_schema":{"name":"order","schema":{"type":"object"}}},"messages":[{"role":"user","content":"two answers please"}]}""");
        plain.Headers.Add("x-fake-reasoning", "the user wants two");
        plain.Headers.Add("x-fake-refusal", "not this part");
        plain.Headers.Add("x-fake-words", "3");
        using var plainResponse = await http.SendAsync(plain);
        var record = await gateway.WaitForRecordAsync(RequestId(plainResponse));
        using (var choices = JsonDocument.Parse((string)record["choices"]!))
        {
            Assert.Equal(2, choices.RootElement.GetArrayLength());
            Assert.EndsWith("#1", choices.RootElement[1].GetString());
        }

        Assert.Equal("the user wants two", record["reasoning"]);
        Assert.Equal("not this part", record["refusal"]);
        Assert.Equal("json_schema:order", record["response_format"]);
        using (var logprobs = JsonDocument.Parse((string)record["logprobs"]!))
        {
            Assert.Equal(3, logprobs.RootElement.GetArrayLength());
            Assert.Equal(-0.25, logprobs.RootElement[0].GetProperty("logprob").GetDouble());
        }

        using var streamed = Json("/v1/chat/completions",
            """{"model":"base-model","stream":true,"logprobs":true,"messages":[{"role":"user","content":"think then answer"}]}""");
        streamed.Headers.Add("x-fake-reasoning", "thinking first");
        streamed.Headers.Add("x-fake-words", "4");
        using var streamedResponse = await http.SendAsync(streamed);
        await streamedResponse.Content.ReadAsStringAsync();
        var streamedRecord = await gateway.WaitForRecordAsync(RequestId(streamedResponse));
        Assert.Equal("thinking first", streamedRecord["reasoning"]);
        Assert.Equal(4, JsonDocument.Parse((string)streamedRecord["logprobs"]!).RootElement.GetArrayLength());
        Assert.Equal("[]", streamedRecord["choices"]); // one choice: it is response_text
        Assert.Equal(4L, Convert.ToInt64(streamedRecord["schema_version"]));
        Assert.Empty((uint[])streamedRecord["token_ids"]!); // this upstream returned none
    }

    [Fact]
    public async Task TokenIds_TheUpstreamReturns_AreCaptured_WholeAndStreamed_AndDroppedWhenRedactionMaskedTheAnswer()
    {
        // vLLM's return_token_ids: the prompt's ids at the top, each choice's (or each chunk's) ids on the choice.
        using var http = gateway.Http();
        using var plain = Json("/v1/chat/completions",
            """{"model":"base-model","return_token_ids":true,"messages":[{"role":"user","content":"one two three"}]}""");
        plain.Headers.Add("x-fake-words", "3");
        using var plainResponse = await http.SendAsync(plain);
        var record = await gateway.WaitForRecordAsync(RequestId(plainResponse));
        Assert.Equal(new uint[] { 100, 101, 102 }, (uint[])record["token_ids"]!);
        Assert.Equal(new uint[] { 1, 2, 3 }, (uint[])record["prompt_token_ids"]!);

        using var streamed = Json("/v1/chat/completions",
            """{"model":"base-model","stream":true,"return_token_ids":true,"messages":[{"role":"user","content":"a b"}]}""");
        streamed.Headers.Add("x-fake-words", "4");
        using var streamedResponse = await http.SendAsync(streamed);
        await streamedResponse.Content.ReadAsStringAsync();
        var streamedRecord = await gateway.WaitForRecordAsync(RequestId(streamedResponse));
        Assert.Equal(new uint[] { 100, 101, 102, 103 }, (uint[])streamedRecord["token_ids"]!);
        Assert.Equal(new uint[] { 1, 2 }, (uint[])streamedRecord["prompt_token_ids"]!);

        // Redaction masked the prompt's e-mail address: its ids would spell it out, so none are kept for the prompt.
        using var masked = Json("/v1/chat/completions",
            """{"model":"base-model","return_token_ids":true,"messages":[{"role":"user","content":"mail bob@example.com"}]}""");
        masked.Headers.Add("x-fake-words", "2");
        using var maskedResponse = await http.SendAsync(masked);
        var maskedRecord = await gateway.WaitForRecordAsync(RequestId(maskedResponse));
        Assert.DoesNotContain("bob@example.com", (string)maskedRecord["prompt"]!);
        Assert.Empty((uint[])maskedRecord["prompt_token_ids"]!);
        Assert.Equal(new uint[] { 100, 101 }, (uint[])maskedRecord["token_ids"]!);
    }

    [Fact]
    public async Task TaskTag_FromTheHeader_FilesTheCallOfAnUnscopedKey()
    {
        using var http = gateway.Http(GatewayFixture.PrivateKey);
        using var request = Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"tagged"}],"user":"end-user-7"}""");
        request.Headers.Add("x-tao-task", "billing");

        using var response = await http.SendAsync(request);

        var record = await gateway.WaitForRecordAsync(RequestId(response));
        Assert.Equal("billing", record["task"]);
        Assert.Equal("end-user-7", record["end_user"]);
    }

    [Fact]
    public async Task UpstreamErrorStatus_IsPassedThroughAndRecorded()
    {
        using var http = gateway.Http();
        using var request = Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"fail please"}]}""");
        request.Headers.Add("x-fake-status", "503");

        using var response = await http.SendAsync(request);

        Assert.Equal(503, (int)response.StatusCode);
        var record = await gateway.WaitForRecordAsync(RequestId(response));
        Assert.Equal((ushort)503, record["status"]);
        Assert.Equal("server_error", record["error_type"]);
    }

    /// <summary>Reads a body that may end with a reset, returning what arrived before it.</summary>
    private static async Task<string> ReadUntilFailureAsync(HttpResponseMessage response)
    {
        var stream = await response.Content.ReadAsStreamAsync();
        var bytes = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                bytes.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            bytes.Write("<reset>"u8);
        }
        catch (HttpRequestException)
        {
            bytes.Write("<reset>"u8);
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }


    private Guid LastRequestIdFor(string prompt)
    {
        // The streaming client does not expose headers before enumeration ends; find the record by its prompt.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var id = gateway.Store.Client.ExecuteScalarAsync(
                $"SELECT toString(any(request_id)) FROM {gateway.Database}.captures WHERE prompt = 'user: {prompt}'").GetAwaiter().GetResult() as string;
            if (Guid.TryParse(id, out var guid) && guid != Guid.Empty)
            {
                return guid;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException("no record for " + prompt);
    }
}
