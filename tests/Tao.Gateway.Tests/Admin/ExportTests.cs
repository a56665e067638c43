using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Tao.Gateway.Tests.Admin;

/// <summary>
/// GET /admin/export over traffic sent through the gateway: each format checked by a strict validator, one call per
/// prompt, held-out prompts left out, demonstrations preferred, feedback thresholds and preference pairs, Parquet
/// written by the store, and a manifest whose SHA-256 matches the bytes.
/// </summary>
public sealed class ExportTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>, IAsyncLifetime
{
    private const string Task = "export-t";
    private static readonly SemaphoreSlim s_seed = new(1, 1);
    private static bool s_seeded;

    public async Task InitializeAsync()
    {
        await s_seed.WaitAsync();
        try
        {
            if (!s_seeded)
            {
                await SeedAsync();
                s_seeded = true;
            }
        }
        finally
        {
            s_seed.Release();
        }
    }

    public Task DisposeAsync() => System.Threading.Tasks.Task.CompletedTask;

    [Fact]
    public async Task OpenAiChat_OneValidExamplePerPrompt_NewestAnswer_DemonstrationsPreferred_HeldOutLeftOut()
    {
        var lines = await ExportAsync($"format=openai-chat&task={Task}");
        Assert.All(lines, line => Assert.Empty(FineTuningValidators.OpenAiChat(line)));
        var answers = lines.Select(Last).ToList();
        Assert.Equal(3, lines.Count); // prompts A, B, C; H is held out
        Assert.Contains("ideal answer for C", answers);
        Assert.DoesNotContain(lines, l => l.Contains("held out prompt", StringComparison.Ordinal));
        var a = lines.Single(l => l.Contains("prompt A", StringComparison.Ordinal));
        Assert.Equal(5, Last(a).Split(' ').Length); // the newer of A's two answers (five words)
        var b = JsonDocument.Parse(lines.Single(l => l.Contains("prompt B", StringComparison.Ordinal))).RootElement.GetProperty("messages");
        Assert.Equal(["system", "user", "assistant", "user", "assistant"], b.EnumerateArray().Select(m => m.GetProperty("role").GetString()));

        Assert.Equal(4, (await ExportAsync($"format=openai-chat&task={Task}&include_held_out=true")).Count);
        Assert.DoesNotContain("ideal answer for C", (await ExportAsync($"format=openai-chat&task={Task}&demonstrations=false")).Select(Last));
    }

    [Fact]
    public async Task HfChat_AndAFeedbackThreshold()
    {
        var lines = await ExportAsync($"format=hf-chat&task={Task}");
        Assert.Equal(3, lines.Count);
        Assert.All(lines, line => Assert.Empty(FineTuningValidators.HfChat(line)));

        var liked = await ExportAsync($"format=openai-chat&task={Task}&metric=thumbs_up&min=1");
        var only = Assert.Single(liked);
        Assert.Contains("prompt A", only, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preferences_PairTheBestAndWorstRatedAnswers_AndDemonstrationsWithWhatTheyCorrected()
    {
        var lines = await ExportAsync($"format=preferences&task={Task}&metric=thumbs_up");
        Assert.Equal(2, lines.Count);
        Assert.All(lines, line => Assert.Empty(FineTuningValidators.Preference(line)));
        var fromFeedback = JsonDocument.Parse(lines.Single(l => l.Contains("prompt A", StringComparison.Ordinal))).RootElement;
        Assert.Equal(5, fromFeedback.GetProperty("chosen")[0].GetProperty("content").GetString()!.Split(' ').Length); // rated up
        var fromDemonstration = JsonDocument.Parse(lines.Single(l => l.Contains("prompt C", StringComparison.Ordinal))).RootElement;
        Assert.Equal("ideal answer for C", fromDemonstration.GetProperty("chosen")[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Parquet_ComesFromTheStore_AndTheManifestHashesTheBytes()
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        var parquet = await admin.GetByteArrayAsync($"/admin/export?format=parquet&task={Task}");
        Assert.True(parquet.Length > 100);
        Assert.Equal("PAR1"u8.ToArray(), parquet[..4]);
        Assert.Equal("PAR1"u8.ToArray(), parquet[^4..]);

        var jsonl = await admin.GetByteArrayAsync($"/admin/export?format=openai-chat&task={Task}");
        using var manifest = JsonDocument.Parse(await admin.GetStringAsync($"/admin/export/manifest?format=openai-chat&task={Task}"));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(jsonl)), manifest.RootElement.GetProperty("sha256").GetString());
        Assert.Equal(3, manifest.RootElement.GetProperty("counts").GetProperty("lines").GetInt64());
        Assert.Equal(Task, manifest.RootElement.GetProperty("filters").GetProperty("task").GetString());

        using var bad = await admin.GetAsync("/admin/export?format=csv");
        await GatewayCalls.AssertErrorAsync(bad, 400, "invalid_request", "an unknown format");
        using var client = gateway.Http();
        Assert.Equal(403, (int)(await client.GetAsync($"/admin/export?task={Task}")).StatusCode); // an API key is not the admin's
    }

    private async Task<List<string>> ExportAsync(string query)
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        using var response = await admin.GetAsync("/admin/export?" + query);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text + string.Join("\n", gateway.Logs.Where(l => l.Contains("Exception", StringComparison.Ordinal)).TakeLast(2)));
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }

    private static string Last(string line)
    {
        var messages = JsonDocument.Parse(line).RootElement.GetProperty("messages");
        return messages[messages.GetArrayLength() - 1].GetProperty("content").GetString()!;
    }

    private async Task SeedAsync()
    {
        using var http = gateway.Http(GatewayFixture.PrivateKey);
        async Task<Guid> CallAsync(string messages, int words)
        {
            using var request = GatewayCalls.Json("/v1/chat/completions", $$"""{"model":"base-model","messages":{{messages}}}""");
            request.Headers.Add("x-tao-task", Task);
            request.Headers.Add("x-fake-words", words.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            var id = GatewayCalls.RequestId(response);
            await gateway.WaitForRecordAsync(id);
            return id;
        }

        const string system = """{"role":"system","content":"You answer briefly."}""";
        var a1 = await CallAsync($$"""[{{system}},{"role":"user","content":"prompt A"}]""", 3);
        await System.Threading.Tasks.Task.Delay(20);
        var a2 = await CallAsync($$"""[{{system}},{"role":"user","content":"prompt A"}]""", 5);
        await CallAsync($$"""[{{system}},{"role":"user","content":[{"type":"text","text":"prompt B"}]},{"role":"assistant","content":"earlier"},{"role":"user","content":"and then?"}]""", 4);
        var c = await CallAsync("""[{"role":"user","content":"prompt C"}]""", 4);
        var h = await CallAsync("""[{"role":"user","content":"held out prompt"}]""", 4);

        (await http.PostAsJsonAsync("/v1/feedback", new { request_id = a1, metric = "thumbs_up", value = false })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync("/v1/feedback", new { request_id = a2, metric = "thumbs_up", value = true })).EnsureSuccessStatusCode();
        (await http.PostAsJsonAsync("/v1/feedback", new { request_id = c, metric = "demonstration", demonstration = "ideal answer for C" })).EnsureSuccessStatusCode();
        var hash = Convert.ToUInt64(await gateway.Store.Client.ExecuteScalarAsync($"SELECT prompt_hash FROM {gateway.Database}.captures WHERE request_id = '{h}'"));
        await gateway.Store.Client.ExecuteNonQueryAsync(
            $"INSERT INTO {gateway.Database}.round_inputs (round_id, request_id, prompt_hash, task, role) VALUES ('r-export', '{h}', {hash}, '{Task}', 'held_out')");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await gateway.CountRowsAsync($"feedback WHERE target_id IN ('{a1}', '{a2}', '{c}')") < 3)
        {
            Assert.True(DateTime.UtcNow < deadline, "feedback reaches the store");
            await System.Threading.Tasks.Task.Delay(50);
        }
    }
}
