using System.Net.Http.Json;
using System.Text.Json;

namespace Tao.Gateway.Tests.State;

/// <summary>
/// Several gateway replicas behind one load balancer: an admin change made through any of them (alias, key) reaches
/// the others through the shared store, without a restart.
/// </summary>
public sealed class ReplicaStateTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task AdminChanges_OnOneReplica_ReachTheOthers()
    {
        await using var replica = await gateway.StartReplicaAsync("gw-replica-b");
        using var adminA = gateway.Http(GatewayFixture.AdminKey);
        using var adminB = new HttpClient { BaseAddress = replica.Address, Timeout = TimeSpan.FromSeconds(30) };
        adminB.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.AdminKey);
        using var clientB = new HttpClient { BaseAddress = replica.Address, Timeout = TimeSpan.FromSeconds(30) };
        clientB.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.ApiKey);

        // An alias set on A routes on B.
        (await adminA.PutAsJsonAsync("/admin/aliases/replica-bot", new { target = "tuned-model" })).EnsureSuccessStatusCode();
        Assert.Equal("upstream-tuned", await WaitForServedModelAsync(clientB, "replica-bot", "upstream-tuned"));

        // Moved on B, it follows on A.
        (await adminB.PutAsJsonAsync("/admin/aliases/replica-bot", new { target = "base-model" })).EnsureSuccessStatusCode();
        using var clientA = gateway.Http();
        Assert.Equal("upstream-base", await WaitForServedModelAsync(clientA, "replica-bot", "upstream-base"));

        // A key created on A authenticates on B; revoked on B, A refuses it.
        using var created = await adminA.PostAsJsonAsync("/admin/keys", new { name = "replicated app" });
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var secret = body.RootElement.GetProperty("key").GetString()!;
        var id = body.RootElement.GetProperty("id").GetString()!;
        using var keyedB = new HttpClient { BaseAddress = replica.Address };
        keyedB.DefaultRequestHeaders.Authorization = new("Bearer", secret);
        Assert.Equal(200, await WaitForStatusAsync(keyedB, 200));

        (await adminB.DeleteAsync($"/admin/keys/{id}")).EnsureSuccessStatusCode();
        using var keyedA = gateway.Http(secret);
        Assert.Equal(401, await WaitForStatusAsync(keyedA, 401));
    }

    private static async Task<string?> WaitForServedModelAsync(HttpClient http, string model, string expected)
    {
        string? served = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.SendAsync(GatewayCalls.Json("/v1/chat/completions",
                $$"""{"model":"{{model}}","messages":[{"role":"user","content":"which replica"}]}"""));
            if (response.IsSuccessStatusCode)
            {
                using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                served = document.RootElement.GetProperty("model").GetString();
                if (served == expected)
                {
                    return served;
                }
            }

            await Task.Delay(100);
        }

        return served;
    }

    private static async Task<int> WaitForStatusAsync(HttpClient http, int expected)
    {
        var status = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.SendAsync(GatewayCalls.Json("/v1/chat/completions",
                """{"model":"base-model","messages":[{"role":"user","content":"replicated key"}]}"""));
            status = (int)response.StatusCode;
            if (status == expected)
            {
                break;
            }

            await Task.Delay(100);
        }

        return status;
    }
}
