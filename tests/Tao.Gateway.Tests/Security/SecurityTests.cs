using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tao.Gateway.State;

namespace Tao.Gateway.Tests.Security;

/// <summary>
/// What a caller holding one ordinary key, a local process that can reach the store, or someone who read the
/// configuration would try (docs/security.md), each against a real gateway over real sockets.
/// </summary>
public sealed class SecurityTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    private const string Chat = "/v1/chat/completions";

    [Fact]
    public async Task AScopedKey_CannotFileItsCallsUnderAnotherTask_ByHeaderOrBody()
    {
        using var http = gateway.Http(GatewayFixture.ScopedKey);
        using var byHeader = GatewayCalls.Json(Chat, """{"model":"support-bot","messages":[{"role":"user","content":"poison sql"}]}""");
        byHeader.Headers.Add("x-tao-task", "sql");
        await GatewayCalls.AssertErrorAsync(await http.SendAsync(byHeader), 403, "task_not_allowed", "a header naming another task");

        using var byBody = GatewayCalls.Json(Chat, """{"model":"support-bot","metadata":{"task":"sql"},"messages":[{"role":"user","content":"poison sql"}]}""");
        await GatewayCalls.AssertErrorAsync(await http.SendAsync(byBody), 403, "task_not_allowed", "metadata.task naming another task");
        Assert.Equal(0, await gateway.CountAsync("task = 'sql'"));

        // Its own tasks are fine: the default, and the other one it was given.
        using var own = GatewayCalls.Json(Chat, """{"model":"support-bot","messages":[{"role":"user","content":"escalate"}]}""");
        own.Headers.Add("x-tao-task", "support-escalations");
        using var ok = await http.SendAsync(own);
        Assert.Equal(200, (int)ok.StatusCode);
        Assert.Equal("support-escalations", (await gateway.WaitForRecordAsync(GatewayCalls.RequestId(ok)))["task"]);

        using var plain = await http.SendAsync(GatewayCalls.Json(Chat, """{"model":"support-bot","messages":[{"role":"user","content":"default task"}]}"""));
        Assert.Equal("support", (await gateway.WaitForRecordAsync(GatewayCalls.RequestId(plain)))["task"]);
    }

    [Fact]
    public async Task AScopedKey_CannotCallAModelOutsideItsList_EvenTheModelItsAliasPointsAt()
    {
        using var http = gateway.Http(GatewayFixture.ScopedKey);
        foreach (var model in new[] { "tuned-model", "base-model" })
        {
            using var request = GatewayCalls.Json(Chat, $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""");
            await GatewayCalls.AssertErrorAsync(await http.SendAsync(request), 403, "model_not_allowed", model);
        }

        // The official client gets the same refusal as an exception, not a silent success.
        var error = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            gateway.Chat("tuned-model", GatewayFixture.ScopedKey).CompleteChatAsync("hi"));
        Assert.Equal(403, error.Status);
    }

    [Fact]
    public async Task CaptureOptOut_IsHonouredOnlyForKeysAllowedIt()
    {
        using var ordinary = gateway.Http();
        using var refused = GatewayCalls.Json(Chat, """{"model":"base-model","messages":[{"role":"user","content":"do not record me"}]}""");
        refused.Headers.Add("x-tao-capture", "off");
        await GatewayCalls.AssertErrorAsync(await ordinary.SendAsync(refused), 403, "capture_control_not_allowed", "an ordinary key");

        using var allowed = gateway.Http(GatewayFixture.PrivateKey);
        using var off = GatewayCalls.Json(Chat, """{"model":"base-model","messages":[{"role":"user","content":"private-7f3a not recorded"}]}""");
        off.Headers.Add("x-tao-capture", "off");
        using var offResponse = await allowed.SendAsync(off);
        Assert.Equal(200, (int)offResponse.StatusCode);
        Assert.DoesNotContain("x-tao-capture", gateway.Upstream.Received.SelectMany(r => r.Headers.Keys), StringComparer.OrdinalIgnoreCase);

        // A later recorded call of the same key is in the store; the opted-out one never arrives.
        using var on = await allowed.SendAsync(GatewayCalls.Json(Chat, """{"model":"base-model","messages":[{"role":"user","content":"recorded after"}]}"""));
        await gateway.WaitForRecordAsync(GatewayCalls.RequestId(on));
        Assert.Equal(0, await gateway.CountAsync("prompt LIKE '%private-7f3a%'"));
    }

    [Fact]
    public async Task ARowWrittenStraightIntoTheStore_ChangesNeitherRoutingNorKeys()
    {
        var attackerKey = "sk-attacker-" + Guid.NewGuid().ToString("N");
        var forged = new GatewayState
        {
            Version = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / 10 + 1_000_000,
            Aliases = { ["forged-bot"] = new AliasEntry { Target = "tuned-model" } },
            Keys = { new ApiKey("key_forged", "forged", Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(attackerKey))), null, DateTimeOffset.UtcNow) },
        };
        var json = GatewayStateStore.Serialize(forged);
        foreach (var stored in new[] { json, "sig:AAAA\n" + json })
        {
            await gateway.Store.Client.ExecuteNonQueryAsync(
                $"INSERT INTO {gateway.Database}.gateway_state (key, version, updated_at, instance, state) VALUES ('routing', {forged.Version}, now64(3), 'attacker', '{stored.Replace("\\", "\\\\").Replace("'", "\\'").Replace("\n", "\\n")}')");
        }

        var sync = gateway.App.Services.GetRequiredService<GatewayStateSync>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (sync.Rejected == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(sync.Rejected > 0, "the replica reports the row it could not verify");
        using var attacker = gateway.Http(attackerKey);
        await GatewayCalls.AssertErrorAsync(await attacker.SendAsync(GatewayCalls.Json(Chat, """{"model":"base-model","messages":[{"role":"user","content":"hi"}]}""")),
            401, "invalid_api_key", "a key added by a forged row");
        using var http = gateway.Http();
        await GatewayCalls.AssertErrorAsync(await http.SendAsync(GatewayCalls.Json(Chat, """{"model":"forged-bot","messages":[{"role":"user","content":"hi"}]}""")),
            404, "model_not_found", "an alias added by a forged row");
        Assert.Contains(gateway.Logs, l => l.Contains("signature does not verify", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RuntimeModels_TakeCredentialsByReferenceOnly()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        using var clear = await admin.PutAsJsonAsync("/admin/models/stolen", new { cluster = "fake", api_key = "sk-in-clear" });
        await GatewayCalls.AssertErrorAsync(clear, 400, "invalid_request", "a credential in clear");
        using var adminVariable = await admin.PutAsJsonAsync("/admin/models/stolen", new { cluster = "fake", api_key_env = "Tao__Auth__AdminKey" });
        await GatewayCalls.AssertErrorAsync(adminVariable, 400, "invalid_request", "a variable outside the allowed prefixes");
        using var outside = await admin.PutAsJsonAsync("/admin/models/stolen", new { cluster = "fake", api_key_file = "../../../etc/passwd" });
        await GatewayCalls.AssertErrorAsync(outside, 400, "invalid_request", "a file outside the credentials folder");

        using var referenced = await admin.PutAsJsonAsync("/admin/models/referenced", new { cluster = "fake", api_key_env = "TAO_UPSTREAM_EXAMPLE" });
        Assert.Equal(200, (int)referenced.StatusCode);
    }

    [Fact]
    public async Task DashboardCookies_MadeFromTheConfiguration_OrLongerThanAllowed_OrSignedOut_AreRefused()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler) { BaseAddress = gateway.Address };

        // What the first design signed with: a key derived from the admin key's hash, which configuration may show.
        var adminHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(GatewayFixture.AdminKey)));
        var oldSecret = SHA256.HashData(Encoding.UTF8.GetBytes("tao-dashboard-session:" + adminHash));
        var expires = DateTimeOffset.UtcNow.AddYears(10).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var oldSignature = Base64Url(HMACSHA256.HashData(oldSecret, Encoding.ASCII.GetBytes(expires)));
        foreach (var cookie in new[] { $"{expires}.{oldSignature}", $"abc.{expires}.{oldSignature}" })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await ReadAnalyticsAsync(http, cookie));
        }

        using var login = await http.PostAsync("/dashboard/login", new FormUrlEncodedContent([new("key", GatewayFixture.AdminKey)]));
        var setCookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        var maxAge = int.Parse(setCookie.Split(';').Select(p => p.Trim()).Single(p => p.StartsWith("max-age=", StringComparison.OrdinalIgnoreCase))["max-age=".Length..]);
        Assert.Equal(12 * 3600, maxAge);
        var session = setCookie.Split(';')[0]["tao_dashboard=".Length..];
        Assert.Equal(HttpStatusCode.OK, await ReadAnalyticsAsync(http, session));

        // A session whose expiry was pushed out is no longer signed; one signed out is refused on every replica.
        var parts = session.Split('.');
        Assert.Equal(HttpStatusCode.Unauthorized, await ReadAnalyticsAsync(http, $"{parts[0]}.{expires}.{parts[2]}"));
        await using var replica = await gateway.StartReplicaAsync("gw-security-b");
        using var replicaHttp = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = replica.Address };
        Assert.Equal(HttpStatusCode.OK, await ReadAnalyticsAsync(replicaHttp, session));
        using var logout = new HttpRequestMessage(HttpMethod.Post, "/dashboard/logout");
        logout.Headers.Add("Cookie", "tao_dashboard=" + session);
        await http.SendAsync(logout);
        Assert.Equal(HttpStatusCode.Unauthorized, await ReadAnalyticsAsync(http, session));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await ReadAnalyticsAsync(replicaHttp, session) != HttpStatusCode.Unauthorized)
        {
            Assert.True(DateTime.UtcNow < deadline, "the sign-out reaches the other replica");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task AKeyOverItsRate_Gets429WithOpenAisHeaders_CountedAcrossTwoReplicas()
    {
        await using var replica = await gateway.StartReplicaAsync("gw-limits-b");
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        var limiterA = gateway.App.Services.GetRequiredService<Limits.KeyLimiter>();
        var limiterB = replica.Services.GetRequiredService<Limits.KeyLimiter>();
        await InOneMinuteAsync(async () =>
        {
            var (id, secret) = await CreateKeyAsync(admin, new { name = "limited", limits = new { requests_per_minute = 4 } });
            using var onA = gateway.Http(secret);
            using var onB = new HttpClient { BaseAddress = replica.Address, Timeout = TimeSpan.FromSeconds(30) };
            onB.DefaultRequestHeaders.Authorization = new("Bearer", secret);
            await WaitForKeyAsync(replica, id);

            // Two calls on A; B sees them once A's counts reach it through the store (waits for that state).
            for (var i = 0; i < 2; i++)
            {
                using var response = await onA.SendAsync(Hello());
                Assert.Equal(200, (int)response.StatusCode);
                Assert.Equal("4", response.Headers.GetValues("x-ratelimit-limit-requests").Single());
                Assert.Equal((4 - i - 1).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers.GetValues("x-ratelimit-remaining-requests").Single());
            }

            await WaitUntilAsync(() => limiterB.UsageOf(id).OtherReplicasRequests >= 2, "B learns A's two calls");
            for (var i = 0; i < 2; i++)
            {
                using var response = await onB.SendAsync(Hello());
                Assert.Equal(200, (int)response.StatusCode);
            }

            using var refused = await onB.SendAsync(Hello());
            await GatewayCalls.AssertErrorAsync(refused, 429, "rate_limit_exceeded", "over the shared rate on B");
            Assert.True(int.Parse(refused.Headers.RetryAfter!.ToString()) is >= 1 and <= 60);
            Assert.Equal("0", refused.Headers.GetValues("x-ratelimit-remaining-requests").Single());
            Assert.EndsWith("s", refused.Headers.GetValues("x-ratelimit-reset-requests").Single());

            // A refuses too once B's calls reach it; the official client reads the same answer (with its retries off it throws).
            await WaitUntilAsync(() => limiterA.UsageOf(id).OtherReplicasRequests >= 2, "A learns B's two calls");
            var options = new OpenAI.OpenAIClientOptions { Endpoint = new Uri(gateway.Address, "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) };
            var client = new OpenAI.Chat.ChatClient("base-model", new System.ClientModel.ApiKeyCredential(secret), options);
            var error = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => client.CompleteChatAsync("hi"));
            Assert.Equal(429, error.Status);
        });
    }

    [Fact]
    public async Task LimitsSurviveARestart_TheNewProcessReadsItsOwnCountsBack()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        await InOneMinuteAsync(async () =>
        {
            var (id, secret) = await CreateKeyAsync(admin, new { name = "restarted", limits = new { requests_per_minute = 2 } });
            await using var first = await gateway.StartReplicaAsync("gw-restart");
            await WaitForKeyAsync(first, id);
            using (var http = new HttpClient { BaseAddress = first.Address })
            {
                http.DefaultRequestHeaders.Authorization = new("Bearer", secret);
                using var a = await http.SendAsync(Hello());
                using var b = await http.SendAsync(Hello());
                Assert.Equal(200, (int)b.StatusCode);
            }

            var limiter = first.Services.GetRequiredService<Limits.KeyLimiter>();
            await WaitUntilAsync(async () => await gateway.CountRowsAsync($"key_usage WHERE key_id = '{id}' AND requests >= 2") > 0, "the count is in the store");
            await first.DisposeAsync(); // stopped here, so the next one starts as a new process of the same instance

            // Same instance id, new process: the minute's two calls are still counted.
            await using var second = await gateway.StartReplicaAsync("gw-restart");
            var restarted = second.Services.GetRequiredService<Limits.KeyLimiter>();
            await WaitForKeyAsync(second, id);
            await WaitUntilAsync(() => restarted.UsageOf(id).Requests >= 2, "the restarted replica reads its counts back");
            using var onSecond = new HttpClient { BaseAddress = second.Address };
            onSecond.DefaultRequestHeaders.Authorization = new("Bearer", secret);
            await GatewayCalls.AssertErrorAsync(await onSecond.SendAsync(Hello()), 429, "rate_limit_exceeded", "after the restart");
        });
    }

    [Fact]
    public async Task AKeyOverItsBudget_GetsInsufficientQuota()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        // tuned-model costs 0.1 USD per token in the fixture: one call spends the day's 0.05 USD.
        var (_, secret) = await CreateKeyAsync(admin, new { name = "budgeted", limits = new { daily_budget_usd = 0.05 } });
        using var http = gateway.Http(secret);
        using (var first = await http.SendAsync(GatewayCalls.Json(Chat, """{"model":"tuned-model","messages":[{"role":"user","content":"spend"}]}""")))
        {
            Assert.Equal(200, (int)first.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var next = await http.SendAsync(GatewayCalls.Json(Chat, """{"model":"tuned-model","messages":[{"role":"user","content":"spend more"}]}"""));
            if (next.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await GatewayCalls.AssertErrorAsync(next, 429, "insufficient_quota", "over the daily budget");
                Assert.NotNull(next.Headers.RetryAfter);
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the first call's cost is charged once its record is written");
            await Task.Delay(100);
        }

        // Turning capture off for a call does not turn the budget off: the estimate is priced.
        var (_, unrecorded) = await CreateKeyAsync(admin, new { name = "budgeted, unrecorded", capture_control = true, limits = new { daily_budget_usd = 0.05 } });
        using var quiet = gateway.Http(unrecorded);
        using (var first = GatewayCalls.Json(Chat, """{"model":"tuned-model","messages":[{"role":"user","content":"spend quietly"}]}"""))
        {
            first.Headers.Add("x-tao-capture", "off");
            Assert.Equal(200, (int)(await quiet.SendAsync(first)).StatusCode);
        }

        using var second = GatewayCalls.Json(Chat, """{"model":"tuned-model","messages":[{"role":"user","content":"spend quietly again"}]}""");
        second.Headers.Add("x-tao-capture", "off");
        await GatewayCalls.AssertErrorAsync(await quiet.SendAsync(second), 429, "insufficient_quota", "over budget with capture off");
    }

    [Fact]
    public async Task AKeyAtItsStreamLimit_WaitsForOneToEnd()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        var (_, secret) = await CreateKeyAsync(admin, new { name = "one stream", limits = new { concurrent_streams = 1 } });
        using var http = gateway.Http(secret);
        var hold = "stream-limit-" + Guid.NewGuid().ToString("N");
        using var held = GatewayCalls.Json(Chat, """{"model":"base-model","stream":true,"messages":[{"role":"user","content":"long"}]}""");
        held.Headers.Add("x-fake-hold", hold);
        using var running = await http.SendAsync(held, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)running.StatusCode);

        using var second = await http.SendAsync(GatewayCalls.Json(Chat, """{"model":"base-model","stream":true,"messages":[{"role":"user","content":"second"}]}"""));
        await GatewayCalls.AssertErrorAsync(second, 429, "rate_limit_exceeded", "a second stream");
        using var plain = await http.SendAsync(Hello());
        Assert.Equal(200, (int)plain.StatusCode); // the limit is on streams, not on every call

        gateway.Upstream.Release(hold);
        await (await running.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var third = await http.SendAsync(GatewayCalls.Json(Chat, """{"model":"base-model","stream":true,"messages":[{"role":"user","content":"third"}]}"""));
            if (third.StatusCode == HttpStatusCode.OK)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline);
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task AKeysBodyLimit_AndTheGatewaysDeadline_EndCallsWithClearErrors()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        var (_, secret) = await CreateKeyAsync(admin, new { name = "small bodies", limits = new { max_request_body_bytes = 200 } });
        using var http = gateway.Http(secret);
        var big = $$"""{"model":"base-model","messages":[{"role":"user","content":"{{new string('x', 400)}}"}]}""";
        await GatewayCalls.AssertErrorAsync(await http.SendAsync(GatewayCalls.Json(Chat, big)), 413, "request_too_large", "over the key's body limit");

        await using var replica = await gateway.StartReplicaAsync("gw-deadline", new() { ["Tao:Gateway:RequestDeadlineSeconds"] = "1" });
        using var slow = new HttpClient { BaseAddress = replica.Address, Timeout = TimeSpan.FromSeconds(30) };
        slow.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.ApiKey);
        using var request = GatewayCalls.Json(Chat, """{"model":"base-model","messages":[{"role":"user","content":"slow"}]}""");
        request.Headers.Add("x-fake-delay-ms", "4000");
        await GatewayCalls.AssertErrorAsync(await slow.SendAsync(request), 504, "request_deadline_exceeded", "past the deadline");
    }

    [Fact]
    public async Task WithRefuseWhenFull_AGatewayThatCannotRecordAnswersNothing()
    {
        // No sink can take records (Kafka at a closed port, ClickHouse off), and the spool holds 1 MiB.
        await using var replica = await gateway.StartReplicaAsync("gw-refuse", new()
        {
            ["Tao:Capture:WhenSpoolFull"] = "Refuse",
            ["Tao:Capture:MaxBodyBytes"] = "4096",
            ["Tao:Capture:Spool:MaxBytes"] = (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Tao:Capture:Spool:SegmentBytes"] = (64 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Tao:Capture:ClickHouse:Enabled"] = "false",
            ["Tao:Capture:Kafka:Enabled"] = "true",
            ["Tao:Capture:Kafka:BootstrapServers"] = "127.0.0.1:9",
        });
        using var http = new HttpClient { BaseAddress = replica.Address, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.ApiKey);
        var answered = 0;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 2000 && refused is null; i++)
        {
            var response = await http.SendAsync(GatewayCalls.Json(Chat,
                $$"""{"model":"base-model","messages":[{"role":"user","content":"fill the spool {{new string('z', 500)}} {{i}}"}]}"""));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                answered++;
                response.Dispose();
            }
            else
            {
                refused = response;
            }
        }

        Assert.NotNull(refused);
        using var _ = refused;
        Assert.True(answered > 10, $"{answered} calls answered before the spool filled");
        Assert.NotNull(refused.Headers.RetryAfter);
        await GatewayCalls.AssertErrorAsync(refused, 503, "capture_unavailable", "a call that could not be recorded");
        var spool = replica.Services.GetRequiredService<Tao.Capture.Spool.CaptureSpool>();
        Assert.Equal(0, spool.Dropped); // nothing answered went unrecorded
    }

    [Fact]
    public async Task ClientOnlyHeaders_StayAtTheGateway()
    {
        using var http = gateway.Http();
        var marker = "headers-" + Guid.NewGuid().ToString("N");
        using var request = GatewayCalls.Json(Chat, $$"""{"model":"base-model","messages":[{"role":"user","content":"{{marker}}"}]}""");
        request.Headers.Add("Cookie", "session=browser-secret");
        request.Headers.Add("OpenAI-Organization", "org-caller");
        request.Headers.Add("OpenAI-Project", "proj-caller");
        using var response = await http.SendAsync(request);
        Assert.Equal(200, (int)response.StatusCode);
        var received = gateway.Upstream.Received.Single(r => r.BodyText.Contains(marker, StringComparison.Ordinal));
        Assert.False(received.Headers.ContainsKey("Cookie"));
        Assert.False(received.Headers.ContainsKey("OpenAI-Organization"));
        Assert.False(received.Headers.ContainsKey("OpenAI-Project"));
        Assert.Equal("Bearer " + GatewayFixture.UpstreamCredential, received.Headers["Authorization"]);
    }

    [Fact]
    public async Task SecretsInPrompts_AreMaskedInTheCaptureByDefault()
    {
        using var http = gateway.Http();
        const string apiKey = "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789";
        const string aws = "AKIAIOSFODNN7EXAMPLE";
        const string pem = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA7\\n-----END RSA PRIVATE KEY-----";
        using var request = GatewayCalls.Json(Chat,
            $$"""{"model":"base-model","messages":[{"role":"user","content":"keys: {{apiKey}} {{aws}} Authorization: Bearer abcdefghijklmnopqrstuvwx {{pem}} card 4111 1111 1111 1111 done"}]}""");
        using var response = await http.SendAsync(request);
        var record = await gateway.WaitForRecordAsync(GatewayCalls.RequestId(response));
        var prompt = (string)record["prompt"]!;
        var requestJson = (string)record["request_json"]!;
        foreach (var secret in new[] { apiKey, aws, "abcdefghijklmnopqrstuvwx", "MIIEowIBAAKCAQEA7", "4111 1111 1111 1111" })
        {
            Assert.DoesNotContain(secret, prompt, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, requestJson, StringComparison.Ordinal);
        }

        Assert.Contains("[SECRET]", prompt, StringComparison.Ordinal);
        Assert.Contains("[CARD]", prompt, StringComparison.Ordinal);
        Assert.Contains("done", prompt, StringComparison.Ordinal);
    }

    private static HttpRequestMessage Hello() =>
        GatewayCalls.Json(Chat, """{"model":"base-model","messages":[{"role":"user","content":"hello"}]}""");

    private static async Task<(string Id, string Secret)> CreateKeyAsync(HttpClient admin, object request)
    {
        using var created = await admin.PostAsJsonAsync("/admin/keys", request);
        Assert.Equal(201, (int)created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        return (body.RootElement.GetProperty("id").GetString()!, body.RootElement.GetProperty("key").GetString()!);
    }

    /// <summary>Waits until a replica has adopted a key created on the first one (without spending a call).</summary>
    private static Task WaitForKeyAsync(GatewayReplica replica, string id) =>
        WaitUntilAsync(() => replica.Services.GetRequiredService<Tao.Gateway.Auth.ApiKeyStore>().All.Any(k => k.Id == id), "the key reaches the replica");

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "waited for: " + what);
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Limits count in whole UTC minutes: a scenario that needs one minute starts early in it, and if it fails after
    /// the minute turned (a slow machine took longer than the 20 s left), it runs again with its own new key.
    /// </summary>
    private static async Task InOneMinuteAsync(Func<Task> scenario)
    {
        for (var attempt = 1; ; attempt++)
        {
            var now = DateTime.UtcNow;
            if (now.Second >= 40)
            {
                await Task.Delay(TimeSpan.FromSeconds(61 - now.Second));
            }

            var minute = Minute(DateTime.UtcNow);
            try
            {
                await scenario();
                return;
            }
            catch (Exception) when (attempt < 3 && Minute(DateTime.UtcNow) != minute)
            {
            }
        }

        static long Minute(DateTime time) => time.Ticks / TimeSpan.TicksPerMinute;
    }

    private static async Task<HttpStatusCode> ReadAnalyticsAsync(HttpClient http, string session)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/analytics/summary?window=24h");
        request.Headers.Add("Cookie", "tao_dashboard=" + session);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
