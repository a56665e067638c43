using System.Net.Http.Json;
using System.Text.Json;

namespace Tao.Gateway.Tests.Feedback;

/// <summary>
/// POST /v1/feedback against a real gateway: calls made with the official OpenAI client, feedback with plain HTTP,
/// rows read back from the store.
/// </summary>
public sealed class FeedbackTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task FeedbackOnARequest_IsStored_LatestWinsPerMetric_AndOnlyItsOwnKeyMayGiveIt()
    {
        var completion = await gateway.Chat("base-model").CompleteChatAsync("rate me");
        var requestId = completion.GetRawResponse().Headers.TryGetValue("x-tao-request-id", out var id) ? id! : throw new InvalidOperationException("no request id");

        using var http = gateway.Http();
        using (var first = await http.PostAsJsonAsync("/v1/feedback", new { request_id = requestId, metric = "rating", value = 2.5 }))
        {
            Assert.Equal(200, (int)first.StatusCode); // right after the answer: its record may not be in the store yet
        }

        using (var second = await http.PostAsJsonAsync("/v1/feedback", new { request_id = requestId, metric = "rating", value = 4.0, tags = new { source = "thumbs widget" } }))
        {
            Assert.Equal(200, (int)second.StatusCode);
        }

        using (var demonstration = await http.PostAsJsonAsync("/v1/feedback", new { request_id = requestId, metric = "demonstration", demonstration = "the ideal answer" }))
        {
            Assert.Equal(200, (int)demonstration.StatusCode);
        }

        await WaitAsync(async () => await gateway.CountRowsAsync($"feedback FINAL WHERE target_id = '{requestId}'") == 2);
        Assert.Equal(4.0, Convert.ToDouble(await gateway.Store.Client.ExecuteScalarAsync(
            $"SELECT value FROM {gateway.Database}.feedback FINAL WHERE target_id = '{requestId}' AND metric = 'rating'")));
        Assert.Equal("the ideal answer", await gateway.Store.Client.ExecuteScalarAsync(
            $"SELECT demonstration FROM {gateway.Database}.feedback FINAL WHERE target_id = '{requestId}' AND metric = 'demonstration'"));

        // Another key cannot rate it (and cannot tell it exists); the admin can.
        using var other = gateway.Http(GatewayFixture.PrivateKey);
        await GatewayCalls.AssertErrorAsync(await other.PostAsJsonAsync("/v1/feedback", new { request_id = requestId, metric = "thumbs_up", value = false }),
            404, "target_not_found", "another key's call");
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        using var byAdmin = await admin.PostAsJsonAsync("/v1/feedback", new { request_id = requestId, metric = "thumbs_up", value = true });
        Assert.Equal(200, (int)byAdmin.StatusCode);
    }

    [Fact]
    public async Task FeedbackOnAnEpisode_RatesTheCallsThatCarriedItsId()
    {
        var episode = "ep-" + Guid.NewGuid().ToString("N");
        var chat = gateway.Chat("base-model", headers: new() { ["x-tao-episode-id"] = episode });
        var first = await chat.CompleteChatAsync("step one");
        await chat.CompleteChatAsync("step two");
        var requestId = first.GetRawResponse().Headers.TryGetValue("x-tao-request-id", out var id) ? Guid.Parse(id!) : Guid.Empty;
        Assert.Equal(episode, (await gateway.WaitForRecordAsync(requestId))["episode_id"]);

        using var http = gateway.Http();
        using var response = await http.PostAsJsonAsync("/v1/feedback", new { episode_id = episode, metric = "task_success", value = true, comment = "solved" });
        Assert.Equal(200, (int)response.StatusCode);
        await WaitAsync(async () => await gateway.CountRowsAsync($"feedback FINAL WHERE target_id = '{episode}' AND level = 'episode' AND value = 1 AND comment = 'solved'") == 1);
        Assert.Equal(2, await gateway.CountAsync($"episode_id = '{episode}'"));
    }

    [Fact]
    public async Task FeedbackAnalytics_MeanAndIntervalPerGroup_ForRequestAndEpisodeMetrics()
    {
        var user = "fb-user-" + Guid.NewGuid().ToString("N")[..8];
        var episode = "ep-" + Guid.NewGuid().ToString("N");
        using var http = gateway.Http();
        for (var i = 1; i <= 3; i++)
        {
            using var call = GatewayCalls.Json("/v1/chat/completions", $$"""{"model":"{{(i == 3 ? "tuned-model" : "base-model")}}","user":"{{user}}","messages":[{"role":"user","content":"q{{i}}"}]}""");
            call.Headers.Add("x-tao-episode-id", episode);
            using var answered = await http.SendAsync(call);
            var id = GatewayCalls.RequestId(answered);
            await gateway.WaitForRecordAsync(id);
            (await http.PostAsJsonAsync("/v1/feedback", new { request_id = id, metric = "rating", value = i })).EnsureSuccessStatusCode();
        }

        (await http.PostAsJsonAsync("/v1/feedback", new { episode_id = episode, metric = "task_success", value = true })).EnsureSuccessStatusCode();
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        JsonElement rows = default;
        await WaitAsync(async () =>
        {
            using var response = await admin.GetAsync($"/admin/analytics/feedback?metric=rating&window=1h&user={user}&group_by=model");
            rows = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("rows").Clone();
            return rows.GetArrayLength() == 2 && rows.EnumerateArray().Sum(r => r.GetProperty("n").GetInt64()) == 3;
        });
        var byModel = rows.EnumerateArray().ToDictionary(r => r.GetProperty("group").GetString()!);
        Assert.Equal(1.5, byModel["base-model"].GetProperty("mean").GetDouble(), 6);
        Assert.Equal(3.0, byModel["tuned-model"].GetProperty("mean").GetDouble(), 6);
        Assert.True(byModel["base-model"].GetProperty("ci95").GetDouble() > 0);

        await WaitAsync(async () =>
        {
            using var response = await admin.GetAsync($"/admin/analytics/feedback/timeseries?metric=task_success&window=1h&user={user}");
            var series = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("rows");
            return series.GetArrayLength() == 1 && series[0].GetProperty("n").GetInt64() == 1 && series[0].GetProperty("mean").GetDouble() == 1.0;
        });

        using var missing = await admin.GetAsync("/admin/analytics/feedback?window=1h");
        await GatewayCalls.AssertErrorAsync(missing, 400, "invalid_request", "no metric");
    }

    [Theory]
    [InlineData("""{"metric":"rating","value":1}""", 400, "invalid_target")]
    [InlineData("""{"request_id":"x","episode_id":"y","metric":"rating","value":1}""", 400, "invalid_target")]
    [InlineData("""{"request_id":"not-a-uuid","metric":"rating","value":1}""", 400, "invalid_request_id")]
    [InlineData("""{"request_id":"{id}","metric":"no_such_metric","value":1}""", 404, "metric_not_found")]
    [InlineData("""{"request_id":"{id}","metric":"thumbs_up","value":"yes"}""", 400, "invalid_value")]
    [InlineData("""{"request_id":"{id}","metric":"rating","value":"NaN"}""", 400, "invalid_value")]
    [InlineData("""{"request_id":"{id}","metric":"rating"}""", 400, "missing_value")]
    [InlineData("""{"request_id":"{id}","metric":"task_success","value":true}""", 400, "wrong_level")]
    [InlineData("""{"request_id":"{id}","metric":"comment"}""", 400, "invalid_value")]
    [InlineData("""{"request_id":"{id}","metric":"rating","value":1,"tags":{"a":1}}""", 400, "invalid_tags")]
    [InlineData("""{"request_id":"00000000-0000-0000-0000-000000000001","metric":"rating","value":1}""", 404, "target_not_found")]
    [InlineData("""[1,2]""", 400, "invalid_json")]
    [InlineData("""{"request_id":""", 400, "invalid_json")]
    public async Task BadFeedback_GetsAClearError(string body, int status, string code)
    {
        using var http = gateway.Http();
        using var call = await http.SendAsync(GatewayCalls.Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"to rate"}]}"""));
        var id = GatewayCalls.RequestId(call).ToString();
        using var content = new StringContent(body.Replace("{id}", id, StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json");
        await GatewayCalls.AssertErrorAsync(await http.PostAsync("/v1/feedback", content), status, code, body);
    }

    [Fact]
    public async Task ADryRun_IsCheckedButNotStored()
    {
        using var http = gateway.Http();
        using var call = await http.SendAsync(GatewayCalls.Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"dry"}]}"""));
        var id = GatewayCalls.RequestId(call).ToString();
        using var response = await http.PostAsJsonAsync("/v1/feedback", new { request_id = id, metric = "thumbs_up", value = true, dry_run = true });
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(body.RootElement.GetProperty("dry_run").GetBoolean());

        // A real post after it lands; the dry run never does.
        using var real = await http.PostAsJsonAsync("/v1/feedback", new { request_id = id, metric = "rating", value = 3 });
        await WaitAsync(async () => await gateway.CountRowsAsync($"feedback WHERE target_id = '{id}' AND metric = 'rating'") == 1);
        Assert.Equal(0, await gateway.CountRowsAsync($"feedback WHERE target_id = '{id}' AND metric = 'thumbs_up'"));
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the store");
            await Task.Delay(50);
        }
    }
}
