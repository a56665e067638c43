using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Tao.Trainer.Scoring;

namespace Tao.Trainer.Tests.Scoring;

public sealed class JudgeTests
{
    [Fact]
    public void Prompt_CarriesTheRubricTheTaskAndEveryCandidateWithItsId()
    {
        var messages = LlmJudgeScorer.BuildPrompt(new ScoringGroup("translate 'hi'", ["bonjour", "salut", "hallo"]), "Correct French, natural register.");
        var user = messages.OfType<OpenAI.Chat.UserChatMessage>().Single().Content[0].Text;

        Assert.Contains("Correct French, natural register.", user);
        Assert.Contains("translate 'hi'", user);
        Assert.Contains("<candidate id=\"1\">\nbonjour\n</candidate>", user);
        Assert.Contains("<candidate id=\"3\">\nhallo\n</candidate>", user);
        Assert.Contains("\"scores\"", user);
    }

    [Theory]
    [InlineData("""{"scores": [{"id": 1, "score": 10}, {"id": 2, "score": 5}, {"id": 3, "score": 0}]}""", new[] { 1.0, 0.5, 0.0 })]
    [InlineData("""Sure! Here you go: {"scores": [{"id": 2, "score": 7, "reason": "ok"}]} Hope it helps.""", new[] { 0.0, 0.7, 0.0 })]
    [InlineData("""{"scores": [8, 4, 12]}""", new[] { 0.8, 0.4, 1.0 })]
    [InlineData("""{"scores": [{"id": 9, "score": 7}]}""", new[] { 0.0, 0.0, 0.0 })]
    [InlineData("no json at all", new[] { 0.0, 0.0, 0.0 })]
    [InlineData("""{"scores": "broken""", new[] { 0.0, 0.0, 0.0 })]
    public void Parse_ReadsScoresRobustly(string reply, double[] expected) => Assert.Equal(expected, LlmJudgeScorer.Parse(reply, 3));

    [Fact]
    public async Task Judge_ScoresAGroupInOneCallToAnOpenAiCompatibleEndpoint()
    {
        var received = new ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            received.Enqueue(body);
            var reply = """{"scores": [{"id": 1, "score": 9}, {"id": 2, "score": 2}]}""";
            return Results.Json(new { id = "j", @object = "chat.completion", created = 1, model = "judge", choices = new[] { new { index = 0, message = new { role = "assistant", content = reply }, finish_reason = "stop" } } });
        });
        await app.StartAsync();
        var judge = new LlmJudgeScorer(new Uri(app.Urls.First() + "/v1"), "judge-model", "key", "Is the SQL correct?");

        var scores = await judge.ScoreAsync(new ScoringGroup("count users", ["SELECT count() FROM users", "SELECT 1"]), default);

        Assert.Equal(new[] { 0.9, 0.2 }, scores);
        using var request = JsonDocument.Parse(received.Single());
        Assert.Equal("judge-model", request.RootElement.GetProperty("model").GetString());
        Assert.Contains("SELECT count() FROM users", request.RootElement.GetProperty("messages")[1].GetProperty("content").GetString());
        Assert.Equal(0, request.RootElement.GetProperty("temperature").GetDouble());
    }
}
