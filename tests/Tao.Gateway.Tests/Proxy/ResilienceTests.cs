using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using Yarp.ReverseProxy;
using static Tao.Gateway.Tests.GatewayCalls;

namespace Tao.Gateway.Tests.Proxy;

/// <summary>
/// Retries and fallbacks under real faults on loopback: a primary that refuses connections (TcpToggleProxy), answers
/// 503 or 529, stalls, or cuts its stream. Clients use the official SDKs and must see one clean answer.
/// </summary>
public sealed class ResilienceTests(ResilienceFixture gateway) : IClassFixture<ResilienceFixture>
{
    [Fact]
    public async Task PrimaryRefusingConnections_ClientsSeeNoErrorsWhileTheFallbackServes_AndRecordsShowEveryAttempt()
    {
        var client = gateway.Chat("toggled-model");
        var before = await client.CompleteChatAsync([new UserChatMessage("before the outage")]);
        var beforeRecord = await gateway.WaitForRecordAsync(RequestId(before.GetRawResponse()));
        Assert.Equal("toggled-model", beforeRecord["model"]);
        Assert.Single(Attempts(beforeRecord));

        gateway.Toggle.Down();
        try
        {
            var calls = Enumerable.Range(0, 16).Select(i => client.CompleteChatAsync([new UserChatMessage($"during the outage {i}")])).ToList();
            var answers = await Task.WhenAll(calls); // any failure would throw here: the client sees no errors

            foreach (var answer in answers)
            {
                Assert.StartsWith("echo: during the outage", answer.Value.Content[0].Text);
                var record = await gateway.WaitForRecordAsync(RequestId(answer.GetRawResponse()));
                Assert.Equal((ushort)200, record["status"]);
                Assert.Equal("toggled-model", record["requested_model"]);
                Assert.Equal("backup-model", record["model"]);
                Assert.Equal("upstream-backup", record["served_model"]);
                Assert.Equal("fake", record["cluster"]);
                var attempts = Attempts(record);
                Assert.InRange(attempts.Count, 2, 3);
                Assert.All(attempts[..^1], a =>
                {
                    Assert.Equal("toggled-model", a.GetProperty("model").GetString());
                    Assert.Equal(0, a.GetProperty("status").GetInt32());
                    // refused; or, once enough attempts failed, ejected by the passive health check and not tried at all
                    Assert.Contains(a.GetProperty("error").GetString(), new[] { "upstream_unreachable", "no_healthy_upstream" });
                });
                Assert.Equal("backup-model", attempts[^1].GetProperty("model").GetString());
                Assert.Equal(200, attempts[^1].GetProperty("status").GetInt32());
                Assert.Equal("", attempts[^1].GetProperty("error").GetString());
            }
        }
        finally
        {
            gateway.Toggle.Up();
        }
    }

    [Fact]
    public async Task PrimaryAnswering503_IsRetriedThenFallsBack_PlainAndStreamed_WithNoErrorsForTheClient()
    {
        var client = gateway.Chat("overloaded-model");
        var sentBefore = gateway.Overloaded.Requests;

        var plain = await client.CompleteChatAsync([new UserChatMessage("overloaded but answered")]);
        var text = new StringBuilder();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("overloaded but streamed")]))
        {
            text.Append(update.ContentUpdate.FirstOrDefault()?.Text);
        }

        Assert.Equal("echo: overloaded but answered", plain.Value.Content[0].Text);
        Assert.Equal("echo: overloaded but streamed", text.ToString());
        Assert.Equal(4, gateway.Overloaded.Requests - sentBefore); // each call: the attempt and one retry
        var record = await gateway.WaitForRecordAsync(RequestId(plain.GetRawResponse()));
        var attempts = Attempts(record);
        Assert.Equal(["overloaded-model", "overloaded-model", "backup-model"], attempts.Select(a => a.GetProperty("model").GetString()));
        Assert.Equal([503, 503, 200], attempts.Select(a => a.GetProperty("status").GetInt32()));
        Assert.Equal(["http_503", "http_503", ""], attempts.Select(a => a.GetProperty("error").GetString()));
        Assert.Equal("overloaded", attempts[0].GetProperty("cluster").GetString());
        Assert.StartsWith(gateway.Overloaded.Address.ToString().TrimEnd('/'), attempts[0].GetProperty("upstream").GetString());
        Assert.Equal("backup-model", record["model"]);
        Assert.Equal("backup-model-v1", record["model_version"]);
        Assert.Equal("echo: overloaded but answered", record["response_text"]);
        Assert.Equal("", record["error_type"]);
    }

    [Fact]
    public async Task ThePolicyOfTheAliasCalled_AppliesBeforeTheModels()
    {
        var viaAlias = await gateway.Chat("resilient-bot").CompleteChatAsync([new UserChatMessage("through the alias")]);

        var record = await gateway.WaitForRecordAsync(RequestId(viaAlias.GetRawResponse()));
        Assert.Equal("resilient-bot", record["alias"]);
        Assert.Equal([503, 200], Attempts(record).Select(a => a.GetProperty("status").GetInt32())); // the alias allows no retry
    }

    [Fact]
    public async Task RetryAfter_IsWaitedForBeforeTheSameUpstreamIsTriedAgain()
    {
        var answer = await gateway.Chat("flaky-model").CompleteChatAsync([new UserChatMessage("flaky once")]);

        Assert.Equal("echo: flaky once", answer.Value.Content[0].Text);
        var attempts = Attempts(await gateway.WaitForRecordAsync(RequestId(answer.GetRawResponse())));
        Assert.Equal([503, 200], attempts.Select(a => a.GetProperty("status").GetInt32()));
        Assert.All(attempts, a => Assert.Equal("flaky", a.GetProperty("cluster").GetString()));
        var firstEnded = attempts[0].GetProperty("started_ms").GetDouble() + attempts[0].GetProperty("latency_ms").GetDouble();
        Assert.True(attempts[1].GetProperty("started_ms").GetDouble() - firstEnded >= 990, "the upstream's Retry-After: 1 was honoured");
    }

    [Fact]
    public async Task AStallingPrimary_TimesOutAndTheFallbackServes()
    {
        var answer = await gateway.Chat("stalling-model").CompleteChatAsync([new UserChatMessage("are you there")]);

        Assert.Equal("echo: are you there", answer.Value.Content[0].Text);
        var attempts = Attempts(await gateway.WaitForRecordAsync(RequestId(answer.GetRawResponse())));
        Assert.Equal(2, attempts.Count);
        Assert.Equal("upstream_timeout", attempts[0].GetProperty("error").GetString());
        Assert.True(attempts[0].GetProperty("latency_ms").GetDouble() >= 990, "the cluster's 1 s activity timeout ended the wait");
        Assert.Equal("backup-model", attempts[1].GetProperty("model").GetString());
        Assert.True(gateway.Stalling.Accepted >= 1);
    }

    [Fact]
    public async Task AStreamCutAfterItsFirstByte_IsNotRetried_AndIsFlaggedAsBefore()
    {
        using var http = gateway.Http();
        using var request = Json("/v1/chat/completions", """{"model":"cut-model","stream":true,"messages":[{"role":"user","content":"cut me off after two words please"}]}""");
        request.Headers.Add("x-fake-cut-after", "3");
        request.Headers.Add("x-fake-chunk-delay-ms", "30");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var text = await GatewayCalls.ReadUntilResetAsync(response);

        Assert.Equal(200, (int)response.StatusCode);
        Assert.Contains("\"upstream_stream_interrupted\"", text);
        Assert.EndsWith("<reset>", text);
        var record = await gateway.WaitForRecordAsync(RequestId(response));
        Assert.Equal(true, record["upstream_truncated"]);
        Assert.Equal("echo: cut me", record["response_text"]);
        var attempt = Assert.Single(Attempts(record));
        Assert.Equal("upstream_stream_interrupted", attempt.GetProperty("error").GetString());
        Assert.DoesNotContain(gateway.Upstream.Received, r => r.BodyText.Contains("cut me off") && r.BodyText.Contains("upstream-backup"));
    }

    [Fact]
    public async Task AStreamCutBeforeItsFirstByte_IsRetried_TheClientGetsOneCleanStream()
    {
        var text = new StringBuilder();
        await foreach (var update in gateway.Chat("cut-early-model").CompleteChatStreamingAsync([new UserChatMessage("cut before anything")]))
        {
            text.Append(update.ContentUpdate.FirstOrDefault()?.Text);
        }

        Assert.Equal("echo: cut before anything", text.ToString());
        var record = await WaitForPromptAsync("user: cut before anything");
        Assert.Equal(false, record["upstream_truncated"]);
        var attempts = Attempts(record);
        Assert.Equal(["cut-early-model", "backup-model"], attempts.Select(a => a.GetProperty("model").GetString()));
        Assert.Equal("upstream_body_interrupted", attempts[0].GetProperty("error").GetString());
        Assert.Equal(200, attempts[0].GetProperty("status").GetInt32()); // its headers came; its body never did
    }

    [Fact]
    public async Task WhenEveryAttemptFails_TheLastUpstreamAnswerReachesTheClientWithTheRequestId()
    {
        using var http = gateway.Http();

        using var response = await http.SendAsync(Json("/v1/chat/completions", """{"model":"exhausted-model","messages":[{"role":"user","content":"nobody can answer"}]}"""));

        Assert.Equal(503, (int)response.StatusCode);
        Assert.Contains("fake upstream failure", await response.Content.ReadAsStringAsync());
        var record = await gateway.WaitForRecordAsync(RequestId(response));
        Assert.Equal((ushort)503, record["status"]);
        Assert.Equal([503, 503], Attempts(record).Select(a => a.GetProperty("status").GetInt32()));
    }

    [Fact]
    public async Task ARefusingDestination_IsEjectedByThePassiveHealthCheck_AndLaterCallsSkipIt()
    {
        var client = gateway.Chat("ejected-model");
        var lookup = gateway.App.Services.GetRequiredService<IProxyStateLookup>();
        Assert.True(lookup.TryGetCluster("toggle-ejection", out var cluster));
        gateway.EjectionToggle.Down();
        try
        {
            // YARP's transport-failure-rate policy ejects after 10 calls in its window, 30 % of them failed.
            string? firstError = null;
            for (var i = 0; i < 40 && firstError != "no_healthy_upstream"; i++)
            {
                var answer = await client.CompleteChatAsync([new UserChatMessage($"eject {i}")]);
                var attempts = Attempts(await gateway.WaitForRecordAsync(RequestId(answer.GetRawResponse())));
                firstError = attempts[0].GetProperty("error").GetString();
                Assert.Equal("backup-model", attempts[^1].GetProperty("model").GetString());
                if (firstError == "no_healthy_upstream")
                {
                    Assert.Equal("", attempts[0].GetProperty("upstream").GetString()); // not tried at all
                }
            }

            Assert.Equal("no_healthy_upstream", firstError);
            Assert.Empty(cluster!.DestinationsState.AvailableDestinations);

            // A call with nowhere else to go still tries the ejected destination rather than fail without trying.
            using var http = gateway.Http();
            using var alone = await http.SendAsync(Json("/v1/chat/completions", """{"model":"ejected-alone","messages":[{"role":"user","content":"only you"}]}"""));
            Assert.Equal(502, (int)alone.StatusCode);
            var only = Assert.Single(Attempts(await gateway.WaitForRecordAsync(RequestId(alone))));
            Assert.Equal("upstream_unreachable", only.GetProperty("error").GetString());
        }
        finally
        {
            gateway.EjectionToggle.Up();
        }
    }

    [Fact]
    public async Task AnthropicOverloaded_FallsBackToAnotherAnthropicModel_ForTheOfficialSdk_PlainAndStreamed()
    {
        var client = gateway.Claude();
        var request = new MessageCreateParams { Model = "claude-overloaded", MaxTokens = 64, Messages = [new UserMessageParam("claude is busy")] };

        var raw = await client.WithRawResponse.Messages.Create(request);
        var message = await raw.Deserialize(CancellationToken.None);
        var streamed = new StringBuilder();
        await foreach (var e in client.Messages.CreateStreaming(request))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta!.Delta.TryPickText(out var piece))
            {
                streamed.Append(piece!.Text);
            }
        }

        Assert.True(message.Content.Single().TryPickText(out var text));
        Assert.Equal("echo: claude is busy", text!.Text);
        Assert.Equal("echo: claude is busy", streamed.ToString());
        var record = await gateway.WaitForRecordAsync(Guid.Parse(raw.GetHeaderValues("x-tao-request-id").Single()));
        var attempts = Attempts(record);
        // no-such-model is unknown and backup-model speaks OpenAI's API: both are skipped.
        Assert.Equal(["claude-overloaded", "claude-model"], attempts.Select(a => a.GetProperty("model").GetString()));
        Assert.Equal([529, 200], attempts.Select(a => a.GetProperty("status").GetInt32()));
        Assert.Equal("claude-model", record["model"]);
        Assert.Equal("messages", record["endpoint"]);
    }

    [Fact]
    public async Task ACallWithoutAPolicy_StillRecordsItsOneAttempt()
    {
        using var http = gateway.Http();

        using var response = await http.SendAsync(Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"one attempt"}]}"""));

        var attempt = Assert.Single(Attempts(await gateway.WaitForRecordAsync(RequestId(response))));
        Assert.Equal("base-model", attempt.GetProperty("model").GetString());
        Assert.Equal(200, attempt.GetProperty("status").GetInt32());
        Assert.True(attempt.GetProperty("latency_ms").GetDouble() > 0);
    }

    private async Task<Dictionary<string, object?>> WaitForPromptAsync(string prompt)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var id = await gateway.Store.Client.ExecuteScalarAsync(
                $"SELECT toString(any(request_id)) FROM {gateway.Database}.captures WHERE prompt = '{prompt}'") as string;
            if (Guid.TryParse(id, out var guid) && guid != Guid.Empty)
            {
                return await gateway.WaitForRecordAsync(guid);
            }

            Assert.True(DateTime.UtcNow < deadline, "no record for " + prompt);
            await Task.Delay(50);
        }
    }

    private static List<JsonElement> Attempts(Dictionary<string, object?> record) =>
        JsonDocument.Parse((string)record["attempts"]!).RootElement.EnumerateArray().ToList();

    private static Guid RequestId(HttpResponseMessage response) => GatewayCalls.RequestId(response);

    private static Guid RequestId(System.ClientModel.Primitives.PipelineResponse response) =>
        Guid.Parse(response.Headers.TryGetValue("x-tao-request-id", out var id) ? id! : throw new InvalidOperationException("no request id header"));
}
