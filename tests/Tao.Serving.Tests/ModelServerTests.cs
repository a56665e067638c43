using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Tao.Serving.Tests;

/// <summary>Tao's model server through the official OpenAI client, directly and behind the gateway.</summary>
public sealed class ModelServerTests
{
    [Fact]
    public async Task ChatCompletions_StreamedAndNot_ThroughTheGateway()
    {
        await using var stack = await ServingStack.StartAsync();
        foreach (var endpoint in new[] { stack.ServerUrl, stack.GatewayUrl })
        {
            var client = new ChatClient(ServingStack.Version, new ApiKeyCredential(ServingStack.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(endpoint, "v1") });
            var completion = (await client.CompleteChatAsync([new UserChatMessage("question number 3 about orders")],
                new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0 })).Value;
            Assert.Equal(ServingStack.Version, completion.Model);
            Assert.InRange(completion.Usage.OutputTokenCount, 1, 6);
            Assert.True(completion.Usage.InputTokenCount > 3);

            var text = new StringBuilder();
            var usage = 0;
            await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("question number 3 about orders")],
                new ChatCompletionOptions { MaxOutputTokenCount = 6, Temperature = 0 }))
            {
                text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
                usage = update.Usage?.OutputTokenCount ?? usage;
            }

            // Greedy decoding: the streamed text is the same answer.
            Assert.Equal(completion.Content[0].Text, text.ToString().Trim());
            Assert.InRange(usage, 1, 6);
        }
    }

    [Fact]
    public async Task NChoices_ConcurrentCallsAreBatched_AndBadCallsGetOpenAiErrors()
    {
        await using var stack = await ServingStack.StartAsync();
        using var http = new HttpClient { BaseAddress = stack.ServerUrl };
        var several = await http.PostAsJsonAsync("/v1/chat/completions", new { model = ServingStack.Version, n = 3, max_tokens = 4, messages = new[] { new { role = "user", content = "hello" } } });
        several.EnsureSuccessStatusCode();
        Assert.Equal(3, JsonDocument.Parse(await several.Content.ReadAsStringAsync()).RootElement.GetProperty("choices").GetArrayLength());

        var calls = Enumerable.Range(0, 24).Select(i => http.PostAsJsonAsync("/v1/chat/completions",
            new { model = ServingStack.Version, max_tokens = 6, messages = new[] { new { role = "user", content = $"question {i}" } } })).ToList();
        Assert.All(await Task.WhenAll(calls), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        using var statsRequest = new HttpRequestMessage(HttpMethod.Get, "/admin/stats");
        statsRequest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ServingStack.AdminKey);
        var stats = JsonDocument.Parse(await (await http.SendAsync(statsRequest)).EnsureSuccessStatusCode().Content.ReadAsStringAsync()).RootElement.GetProperty(ServingStack.Version);
        Assert.True(stats.GetProperty("mean_batch").GetDouble() > 1.5, $"mean batch {stats.GetProperty("mean_batch").GetDouble()}");

        var unknown = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "nope", messages = new[] { new { role = "user", content = "x" } } });
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("model_not_found", JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        var broken = await http.PostAsync("/v1/chat/completions", new StringContent("{\"model\": ", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        var shapeless = await http.PostAsJsonAsync("/v1/chat/completions", new { model = ServingStack.Version, messages = "not a list" });
        Assert.Equal(HttpStatusCode.BadRequest, shapeless.StatusCode);
        Assert.Equal("invalid_request_error", JsonDocument.Parse(await shapeless.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());
    }
}
