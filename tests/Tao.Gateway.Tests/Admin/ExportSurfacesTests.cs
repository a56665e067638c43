#pragma warning disable OPENAI001 // the Responses API is marked experimental in the OpenAI .NET client
using System.Text.Json;
using Anthropic.Models.Messages;
using OpenAI.Responses;
using Tao.Gateway.Tests.OpenAi;
using static Tao.Gateway.Tests.GatewayCalls;

namespace Tao.Gateway.Tests.Admin;

/// <summary>
/// GET /admin/export over calls of the other conversational surfaces — the Responses API through the official OpenAI
/// client, Anthropic's Messages API through the official Anthropic SDK: each leaves as the same chat conversation a
/// Chat Completions call would, and the fine-tuning validators accept it.
/// </summary>
[Collection(SurfacesCollection.Name)]
public sealed class ExportSurfacesTests(SurfacesFixture gateway)
{
    private const string Task = "export-surfaces";

    [Fact]
    public async Task ResponsesAndMessagesCalls_ExportAsChatConversations_TheValidatorsAccept()
    {
        var headers = new Dictionary<string, string> { ["x-tao-task"] = Task };
        var response = await gateway.Responses(GatewayFixture.PrivateKey, headers).CreateResponseAsync(
            new CreateResponseOptions("base-model", [ResponseItem.CreateUserMessageItem("export me from responses")]) { Instructions = "Be brief." });
        await gateway.WaitForRecordAsync(RequestIdOf(response.GetRawResponse().Headers));
        var message = await gateway.Claude(GatewayFixture.PrivateKey, headers: headers).WithRawResponse.Messages.Create(new MessageCreateParams
        {
            Model = "claude-bot", MaxTokens = 64, System = "Answer in one line.", Messages = [new UserMessageParam("export me from messages")],
        });
        await gateway.WaitForRecordAsync(Guid.Parse(message.GetHeaderValues("x-tao-request-id").Single()));

        var openAi = await ExportAsync($"format=openai-chat&task={Task}");
        Assert.Equal(2, openAi.Count);
        Assert.All(openAi, line => Assert.Empty(FineTuningValidators.OpenAiChat(line)));
        Assert.Equal([("system", "Be brief."), ("user", "export me from responses"), ("assistant", "echo: export me from responses")],
            Turns(openAi.Single(l => l.Contains("from responses", StringComparison.Ordinal))));
        Assert.Equal([("system", "Answer in one line."), ("user", "export me from messages"), ("assistant", "echo: export me from messages")],
            Turns(openAi.Single(l => l.Contains("from messages", StringComparison.Ordinal))));

        var hf = await ExportAsync($"format=hf-chat&task={Task}");
        Assert.Equal(2, hf.Count);
        Assert.All(hf, line => Assert.Empty(FineTuningValidators.HfChat(line)));
    }

    private static List<(string, string)> Turns(string line) =>
        JsonDocument.Parse(line).RootElement.GetProperty("messages").EnumerateArray()
            .Select(m => (m.GetProperty("role").GetString()!, m.GetProperty("content").GetString()!)).ToList();

    private async Task<List<string>> ExportAsync(string query)
    {
        using var admin = gateway.Http(GatewayFixture.AdminKey);
        using var response = await admin.GetAsync("/admin/export?" + query);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
