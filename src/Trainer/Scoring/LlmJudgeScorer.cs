using System.ClientModel;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;

namespace Tao.Trainer.Scoring;

/// <summary>
/// An LLM judge over any OpenAI-compatible endpoint that scores the whole group in one call against a rubric
/// (group-relative, RULER-style): relative consistency within a group is what group-relative RL needs.
/// </summary>
internal sealed class LlmJudgeScorer(ChatClient client, string rubric) : IScorer
{
    public LlmJudgeScorer(Uri endpoint, string model, string apiKey, string rubric)
        : this(new ChatClient(model, new ApiKeyCredential(apiKey), new OpenAIClientOptions { Endpoint = endpoint }), rubric)
    {
    }

    public string Name => "llm_judge";

    public async Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var messages = BuildPrompt(group, rubric);
        var completion = await client.CompleteChatAsync(messages, new ChatCompletionOptions { Temperature = 0 }, cancellationToken).ConfigureAwait(false);
        return Parse(completion.Value.Content.FirstOrDefault()?.Text ?? string.Empty, group.Candidates.Count);
    }

    public static List<OpenAI.Chat.ChatMessage> BuildPrompt(ScoringGroup group, string rubric)
    {
        var user = new StringBuilder();
        user.Append("Rubric:\n").Append(rubric.Trim()).Append("\n\nTask given to the assistant:\n").Append(group.Prompt.Trim()).Append("\n\nCandidate answers:\n");
        for (var i = 0; i < group.Candidates.Count; i++)
        {
            user.Append("<candidate id=\"").Append(i + 1).Append("\">\n").Append(group.Candidates[i].Trim()).Append("\n</candidate>\n");
        }

        user.Append("\nScore every candidate from 0 to 10. Reply with JSON only, one entry per candidate:\n")
            .Append("{\"scores\": [{\"id\": 1, \"score\": 7, \"reason\": \"...\"}, ...]}");
        return
        [
            new SystemChatMessage(
                "You grade candidate answers to the same task against a rubric. Compare the candidates with each other: " +
                "better answers must get higher scores, equal answers equal scores. Be strict and consistent."),
            new UserChatMessage(user.ToString()),
        ];
    }

    /// <summary>Reads the judge's scores (0-10) into [0, 1]; unparsable replies or missing candidates score 0.</summary>
    public static double[] Parse(string reply, int candidates)
    {
        var scores = new double[candidates];
        var start = reply.IndexOf('{');
        var end = reply.LastIndexOf('}');
        if (start < 0 || end <= start)
        {
            return scores;
        }

        try
        {
            using var document = JsonDocument.Parse(reply[start..(end + 1)]);
            if (!document.RootElement.TryGetProperty("scores", out var list) || list.ValueKind != JsonValueKind.Array)
            {
                return scores;
            }

            var position = 0;
            foreach (var item in list.EnumerateArray())
            {
                position++;
                var (id, score) = item.ValueKind switch
                {
                    JsonValueKind.Number => (position, item.GetDouble()),
                    JsonValueKind.Object when item.TryGetProperty("score", out var s) && s.ValueKind == JsonValueKind.Number =>
                        (item.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : position, s.GetDouble()),
                    _ => (0, 0.0),
                };
                if (id >= 1 && id <= candidates)
                {
                    scores[id - 1] = Math.Clamp(score / 10.0, 0, 1);
                }
            }
        }
        catch (JsonException)
        {
        }

        return scores;
    }
}
