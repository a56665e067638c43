using System.Net.Http.Json;
using System.Text.Json;
using OpenAI.Chat;

namespace Tao.Gateway.Tests.Routing;

/// <summary>Model map, aliases and clusters, changed at runtime through the admin API without a restart.</summary>
public sealed class RoutingTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task Models_ListsModelsAndAliases()
    {
        using var http = gateway.Http();
        using var document = JsonDocument.Parse(await http.GetStringAsync("/v1/models"));

        var ids = document.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();
        Assert.Equal("list", document.RootElement.GetProperty("object").GetString());
        Assert.Contains("base-model", ids);
        Assert.Contains("support-bot", ids);
    }

    [Fact]
    public async Task AliasSwap_UnderConcurrentLoad_FailsNoRequest()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        var alias = "swap-" + Guid.NewGuid().ToString("N")[..6];
        (await admin.PutAsJsonAsync($"/admin/aliases/{alias}", new { target = "base-model" })).EnsureSuccessStatusCode();
        var client = gateway.Chat(alias);
        var served = new System.Collections.Concurrent.ConcurrentBag<string>();
        var failures = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        using var stop = new CancellationTokenSource();

        var load = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var result = await client.CompleteChatAsync([new UserChatMessage($"load {worker}")]);
                    served.Add(result.Value.Model);
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            }
        })).ToList();

        // At least 20 swaps, and on until both targets have served under load (a slow machine's first calls may land
        // after the first swaps; this waits for what the test needs, it times nothing).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        for (var swap = 0; swap < 20 || (!(served.Contains("upstream-base") && served.Contains("upstream-tuned")) && DateTime.UtcNow < deadline); swap++)
        {
            var target = swap % 2 == 0 ? "tuned-model" : "base-model";
            (await admin.PutAsJsonAsync($"/admin/aliases/{alias}", new { target })).EnsureSuccessStatusCode();
            await Task.Delay(25);
        }

        stop.Cancel();
        await Task.WhenAll(load);
        Assert.Empty(failures);
        Assert.Contains("upstream-base", served);
        Assert.Contains("upstream-tuned", served);
        Assert.All(served, model => Assert.Contains(model, new[] { "upstream-base", "upstream-tuned" }));
    }

    [Fact]
    public async Task AliasToUnknownTarget_IsRefused_AndTheOldTargetKeepsServing()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        using var response = await admin.PutAsJsonAsync("/admin/aliases/support-bot", new { target = "nowhere" });

        await GatewayCalls.AssertErrorAsync(response, 400, null, "unknown target");
        var result = await gateway.Chat("support-bot").CompleteChatAsync([new UserChatMessage("still here")]);
        Assert.Equal("upstream-base", result.Value.Model);
    }

    [Fact]
    public async Task AliasCycle_IsRefused()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        (await admin.PutAsJsonAsync("/admin/aliases/cycle-a", new { target = "base-model" })).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/admin/aliases/cycle-b", new { target = "cycle-a" })).EnsureSuccessStatusCode();

        using var response = await admin.PutAsJsonAsync("/admin/aliases/cycle-a", new { target = "cycle-b" });

        await GatewayCalls.AssertErrorAsync(response, 400, null, "cycle");
    }

    [Fact]
    public async Task RuntimeClusterAndModel_RouteWithoutRestart_AndSurviveInTheStateFile()
    {
        await using var second = await Tao.Bench.FakeUpstream.StartAsync();
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        (await admin.PutAsJsonAsync("/admin/clusters/second", new { destinations = new { d1 = second.Address.ToString() } })).EnsureSuccessStatusCode();
        (await admin.PutAsJsonAsync("/admin/models/round-2", new { cluster = "second", upstream_model = "tuned-r2", version = "r2" })).EnsureSuccessStatusCode();

        var result = await gateway.Chat("round-2").CompleteChatAsync([new UserChatMessage("new upstream")]);

        Assert.Equal("tuned-r2", result.Value.Model);
        var state = await File.ReadAllTextAsync(Path.Combine(gateway.Folder, "state", "state.json"));
        Assert.Contains("round-2", state);
        Assert.Contains(second.Address.ToString(), state);
    }

    [Fact]
    public async Task ApiKeys_CreatedAtRuntime_AuthenticateAndCarryTheirTask_AndRevokedOnesDoNot()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        using var created = await admin.PostAsJsonAsync("/admin/keys", new { name = "billing app", task = "billing" });
        Assert.Equal(201, (int)created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var secret = body.RootElement.GetProperty("key").GetString()!;
        var id = body.RootElement.GetProperty("id").GetString()!;

        using var http = gateway.Http(secret);
        using var response = await http.SendAsync(GatewayCalls.Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"runtime key"}]}"""));
        Assert.Equal(200, (int)response.StatusCode);
        var record = await gateway.WaitForRecordAsync(GatewayCalls.RequestId(response));
        Assert.Equal(id, record["api_key_id"]);
        Assert.Equal("billing", record["task"]);
        var state = await File.ReadAllTextAsync(Path.Combine(gateway.Folder, "state", "state.json"));
        Assert.DoesNotContain(secret, state);

        (await admin.DeleteAsync($"/admin/keys/{id}")).EnsureSuccessStatusCode();
        using var revoked = await http.SendAsync(GatewayCalls.Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"x"}]}"""));
        await GatewayCalls.AssertErrorAsync(revoked, 401, "invalid_api_key", "revoked");
    }

    [Fact]
    public async Task Canary_SendsAShareOfTheAliasToTheCanaryTarget()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        (await admin.PutAsJsonAsync("/admin/aliases/canary-bot", new { target = "base-model", canary_target = "tuned-model", canary_percent = 50 })).EnsureSuccessStatusCode();
        var client = gateway.Chat("canary-bot");

        var models = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            models.Add((await client.CompleteChatAsync([new UserChatMessage("canary")])).Value.Model);
        }

        Assert.Contains("upstream-base", models);
        Assert.Contains("upstream-tuned", models);
    }

    [Fact]
    public async Task Health_IsAlive_AndReadinessIsTheGatewaysOwn_WithUpstreamsAsDetail()
    {
        using var http = gateway.Http(null);
        Assert.Equal(200, (int)(await http.GetAsync("/healthz")).StatusCode);

        // Probes run every second in the fixture; other tests in this class stress the fake upstream, so wait for a
        // probe that saw it (this waits for a state, it does not time anything).
        HttpResponseMessage ready;
        JsonDocument report;
        Dictionary<string, bool> upstreams;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            ready = await http.GetAsync("/readyz");
            report = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            upstreams = report.RootElement.GetProperty("upstreams").EnumerateArray().ToDictionary(u => u.GetProperty("cluster").GetString()!, u => u.GetProperty("reachable").GetBoolean());
            var settled = upstreams["fake"] && (int)ready.StatusCode == 200
                && report.RootElement.GetProperty("sinks").EnumerateArray().All(sink => sink.GetProperty("reachable").GetBoolean());
            if (settled || DateTime.UtcNow > deadline)
            {
                break;
            }

            ready.Dispose();
            report.Dispose();
            await Task.Delay(200);
        }

        using var _ = ready;
        using var __ = report;
        Assert.True(upstreams["fake"]);
        Assert.False(upstreams["dead"]); // dead-model's cluster points at a closed port: detail, not a reason to leave the balancer
        Assert.Equal(200, (int)ready.StatusCode);
        Assert.Equal("ready", report.RootElement.GetProperty("status").GetString());
        Assert.True(report.RootElement.GetProperty("sinks").EnumerateArray().Single().GetProperty("reachable").GetBoolean());
        Assert.False(report.RootElement.GetProperty("spool").GetProperty("full").GetBoolean());
    }
}
