using System.Text.Json;

namespace Tao.Capture.Tests;

/// <summary>
/// The flywheel counts distinct inputs by prompt hash and trains on the prompt's turns: the same conversation must give
/// the same prompt whichever API surface carried it.
/// </summary>
public sealed class PromptTextTests
{
    private const string Chat = """
        {"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"where is my parcel"}]}
        """;

    [Theory]
    [InlineData(ApiSurfaces.Responses, """{"model":"m","instructions":"Be brief.","input":"where is my parcel"}""")]
    [InlineData(ApiSurfaces.Responses, """{"model":"m","instructions":"Be brief.","input":[{"role":"user","content":"where is my parcel"}]}""")]
    [InlineData(ApiSurfaces.Responses, """{"model":"m","input":[{"type":"message","role":"system","content":[{"type":"input_text","text":"Be brief."}]},{"type":"message","role":"user","content":[{"type":"input_text","text":"where is my parcel"}]}]}""")]
    [InlineData(ApiSurfaces.Messages, """{"model":"m","max_tokens":64,"system":"Be brief.","messages":[{"role":"user","content":"where is my parcel"}]}""")]
    [InlineData(ApiSurfaces.Messages, """{"model":"m","max_tokens":64,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":[{"type":"text","text":"where is my parcel"}]}]}""")]
    public void TheSameConversation_HasTheSamePromptAndHashOnEverySurface(string surface, string body)
    {
        var chat = PromptText.Extract(Parse(Chat), ApiSurfaces.Chat);

        var prompt = PromptText.Extract(Parse(body), surface);

        Assert.Equal("system: Be brief.\nuser: where is my parcel", chat);
        Assert.Equal(chat, prompt);
        Assert.Equal(PromptText.Hash(chat), PromptText.Hash(prompt));
    }

    [Fact]
    public void ToolConversations_MatchChatsToolCallsAndToolMessages()
    {
        const string chat = """
            {"model":"m","messages":[{"role":"user","content":"weather in Paris?"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},
             {"role":"tool","tool_call_id":"c1","content":"18 C"}]}
            """;
        const string responses = """
            {"model":"m","input":[{"role":"user","content":"weather in Paris?"},
             {"type":"function_call","call_id":"c1","name":"weather","arguments":"{\"city\":\"Paris\"}"},
             {"type":"function_call_output","call_id":"c1","output":"18 C"}]}
            """;
        const string messages = """
            {"model":"m","max_tokens":64,"messages":[{"role":"user","content":"weather in Paris?"},
             {"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"weather","input":{"city":"Paris"}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"18 C"}]}]}
            """;

        var expected = PromptText.Extract(Parse(chat), ApiSurfaces.Chat);

        Assert.Equal("user: weather in Paris?\nassistant: \ntool: 18 C", expected);
        Assert.Equal(expected, PromptText.Extract(Parse(responses), ApiSurfaces.Responses));
        Assert.Equal(expected, PromptText.Extract(Parse(messages), ApiSurfaces.Messages));
    }

    [Fact]
    public void Images_AreNamedAlikeOnEverySurface()
    {
        const string chat = """{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:x"}}]}]}""";
        const string responses = """{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"what is this"},{"type":"input_image","image_url":"data:x"}]}]}""";
        const string messages = """{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"x"}}]}]}""";

        var expected = PromptText.Extract(Parse(chat), ApiSurfaces.Chat);

        Assert.Equal("user: what is this\n[image_url]", expected);
        Assert.Equal(expected, PromptText.Extract(Parse(responses), ApiSurfaces.Responses));
        Assert.Equal(expected, PromptText.Extract(Parse(messages), ApiSurfaces.Messages));
    }

    [Fact]
    public void Conversation_GivesTheTurnsTheFlywheelTrainsOn()
    {
        var turns = PromptText.Conversation(Parse("""{"model":"m","instructions":"Be brief.","input":"hi"}"""), ApiSurfaces.Responses);

        Assert.Equal([new PromptTurn("system", "Be brief."), new PromptTurn("user", "hi")], turns);
        Assert.Equal([new PromptTurn("user", "hi")], PromptText.Conversation(Parse("""{"messages":[{"role":"user","content":"hi"}]}"""), ApiSurfaces.LegacyChat));
    }

    [Fact]
    public void CompletionsAndEmbeddings_KeepTheirRawPrompt()
    {
        Assert.Equal("legacy prompt", PromptText.Extract(Parse("""{"model":"m","prompt":"legacy prompt"}"""), ApiSurfaces.Completions));
        Assert.Equal("embed me", PromptText.Extract(Parse("""{"model":"m","input":"embed me"}"""), ApiSurfaces.Embeddings));
    }

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
