using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using Tao.Bench;
using Tao.Capture;
using Tao.Cli.Benchmarks;
using Tao.Tests;

namespace Tao.Deploy.Tests;

/// <summary>
/// The native gateway (src/GatewayServer, published with Native AOT by `./tao test` into artifacts/publish/tao-gateway)
/// run as a container runs it: its own process on loopback, the official OpenAI client calling through
/// it (plain and streamed), the admin, feedback, analytics and export APIs over HTTP, malformed input, and capture into
/// the embedded store and into Kafka (librdkafka's mock cluster). A path the trimmer cut, or one that needs code made at
/// run time, fails here rather than in production; the same paths run under the JIT in Tao.Gateway.Tests.
/// </summary>
public sealed class NativeGatewayTests
{
    private const string AdminKey = "native-gateway-admin-key-0123";
    private const string Topic = "tao.captures";

    [Fact]
    public async Task TheNativeGateway_Proxies_Captures_AndAnswersItsApis()
    {
        var binary = Path.Combine(RepositoryRoot.Path, "artifacts", "publish", "tao-gateway", "tao-gateway");
        Assert.True(File.Exists(binary),
            $"{binary} is missing: `./tao test` publishes it (dotnet publish src/GatewayServer -c Release -o artifacts/publish/tao-gateway).");
        await using var upstream = await FakeUpstream.StartAsync();
        using var kafka = new KafkaMockCluster();
        kafka.CreateTopic(Topic);
        var folder = TestEngine.NewFolder("native-gateway");
        var address = new Uri($"http://127.0.0.1:{ChildProcess.FreePort()}/");
        var config = Path.Combine(folder, "tao.json");
        await File.WriteAllTextAsync(config, $$"""
            {
              "Tao": {
                "Gateway": { "WarmUpSeconds": 1 },
                "Auth": { "AdminKey": "{{AdminKey}}" },
                "Capture": { "Kafka": { "Enabled": true, "BootstrapServers": "{{kafka.BootstrapServers}}", "Topic": "{{Topic}}" } },
                "Models": { "m": { "Cluster": "upstream" } }
              },
              "ReverseProxy": { "Clusters": { "upstream": { "Destinations": { "d1": { "Address": "{{upstream.Address}}" } } } } }
            }
            """);
        var log = Path.Combine(folder, "gateway.log");
        await using (var gateway = ChildProcess.Start(binary, ["--config", config, "--data", folder, "--urls", address.ToString().TrimEnd('/')], log))
        {
            await gateway.WaitForHttpAsync(new Uri(address, "/healthz"), TimeSpan.FromSeconds(90));
            using var admin = new HttpClient { BaseAddress = address };
            admin.DefaultRequestHeaders.Authorization = new("Bearer", AdminKey);

            // A key for a task, made through the admin API, and an alias; the OpenAI client calls with that key.
            using var created = await admin.PostAsync("/admin/keys", Json("""{"name":"native","task":"support","limits":{"requests_per_minute":600}}"""));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var key = Property(await created.Content.ReadAsStringAsync(), "key");
            using var alias = await admin.PutAsync("/admin/aliases/fast", Json("""{"target":"m"}"""));
            Assert.Equal(HttpStatusCode.OK, alias.StatusCode);

            var options = new OpenAIClientOptions { Endpoint = new Uri(address, "/v1") };
            var chat = new ChatClient("m", new ApiKeyCredential(key), options);
            var answer = await chat.CompleteChatAsync([new UserChatMessage("What is two plus two?")]);
            Assert.False(string.IsNullOrEmpty(answer.Value.Content[0].Text));
            Assert.True(answer.GetRawResponse().Headers.TryGetValue(TaoHeaders.RequestId, out var requestId), "no request id header");
            var streamed = new StringBuilder();
            await foreach (var update in new ChatClient("fast", new ApiKeyCredential(key), options).CompleteChatStreamingAsync([new UserChatMessage("Stream it")]))
            {
                foreach (var part in update.ContentUpdate)
                {
                    streamed.Append(part.Text);
                }
            }

            Assert.NotEqual(0, streamed.Length);

            // Malformed input: a 400 with the OpenAI error shape.
            using var plain = new HttpClient { BaseAddress = address };
            plain.DefaultRequestHeaders.Authorization = new("Bearer", key);
            using var malformed = await plain.PostAsync("/v1/chat/completions", Json("""{"model":"m","messages":"""));
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(await malformed.Content.ReadAsStringAsync()).RootElement.GetProperty("error").ValueKind);

            using var feedback = await plain.PostAsync("/v1/feedback", Json($$"""{"request_id":"{{requestId}}","metric":"comment","value":"right"}"""));
            Assert.Equal(HttpStatusCode.OK, feedback.StatusCode);
            Assert.True(Guid.TryParse(Property(await feedback.Content.ReadAsStringAsync(), "feedback_id"), out _));
            using var models = JsonDocument.Parse(await plain.GetStringAsync("/v1/models"));
            Assert.Equal(["fast", "m"], models.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).Order());

            // Every capture reaches both sinks; then the analytics and export APIs read them back from the store.
            Assert.True(await LoopbackChecks.DrainAsync(address, AdminKey, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100), CancellationToken.None),
                $"the sinks did not drain: {await admin.GetStringAsync("/admin/capture")}");
            using var capture = JsonDocument.Parse(await admin.GetStringAsync("/admin/capture"));
            Assert.Equal(["clickhouse", "kafka"], capture.RootElement.GetProperty("sinks").EnumerateArray().Select(s => s.GetProperty("name").GetString()).Order());
            Assert.Contains(requestId!, LoopbackChecks.ConsumeAll(kafka.BootstrapServers, Topic, "native-gateway-test", TimeSpan.FromSeconds(2)).Keys);
            using var summary = JsonDocument.Parse(await admin.GetStringAsync("/admin/analytics/summary"));
            Assert.Equal(2, summary.RootElement.GetProperty("rows")[0].GetProperty("requests").GetInt64()); // the malformed one never reached a model
            using var one = JsonDocument.Parse(await admin.GetStringAsync($"/admin/analytics/requests/{requestId}"));
            Assert.Equal("support", one.RootElement.GetProperty("task").GetString());
            using var search = JsonDocument.Parse(await admin.GetStringAsync("/admin/analytics/search?q=plus"));
            Assert.Equal(requestId, search.RootElement.GetProperty("rows")[0].GetProperty("request_id").GetString());
            using var manifest = JsonDocument.Parse(await admin.GetStringAsync("/admin/export/manifest"));
            Assert.Equal(2, manifest.RootElement.GetProperty("counts").GetProperty("lines").GetInt64());
            await gateway.StopAsync();
        }

        var output = await File.ReadAllTextAsync(log);
        Assert.DoesNotContain("warmed up", output, StringComparison.Ordinal); // no JIT to warm: configured, and skipped
        Assert.DoesNotContain("Exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Proxying to", output, StringComparison.Ordinal); // the built-in defaults (appsettings.json) were read: YARP logs at warning
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Property(string json, string name)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty(name).GetString()!;
    }
}
