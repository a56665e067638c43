using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tao.Trainer.Training;

/// <summary>
/// A round's scored candidate set in the files an external trainer reads: every group with its scores
/// (candidates.jsonl), the confident picks and users' targets as chat SFT examples (sft.jsonl, the shape of
/// tao export's hf-chat), and best-against-worst pairs (preferences.jsonl, TRL's conversational DPO shape).
/// </summary>
public static class CandidateSetWriter
{
    public sealed record Counts(int Groups, int SftExamples, int Pairs, int Labelled);

    public static Counts Write(string folder, IReadOnlyList<ScoredGroup> groups, Func<ScoredGroup, bool> confident,
        IReadOnlyDictionary<string, string>? labelled)
    {
        Directory.CreateDirectory(folder);
        var sft = 0;
        var pairs = 0;
        var fromUsers = 0;
        using var candidates = new StreamWriter(Path.Combine(folder, "candidates.jsonl"));
        using var examples = new StreamWriter(Path.Combine(folder, "sft.jsonl"));
        using var preferences = new StreamWriter(Path.Combine(folder, "preferences.jsonl"));
        foreach (var group in groups)
        {
            var prompt = Messages(group);
            var target = labelled?.GetValueOrDefault(group.Prompt.Id);
            candidates.WriteLine(Line(group, confident(group), target).ToJsonString());

            var best = target ?? (confident(group) ? group.Top[0].Text : null);
            if (best is not null)
            {
                examples.WriteLine(SftLine(group.Prompt.Id, prompt, best, labelled: target is not null).ToJsonString());
                sft++;
                fromUsers += target is not null ? 1 : 0;
            }

            if (Rejected(group, best) is { } rejected)
            {
                preferences.WriteLine(PreferenceLine(prompt, best!, rejected).ToJsonString());
                pairs++;
            }
        }

        return new Counts(groups.Count, sft, pairs, fromUsers);
    }

    /// <summary>
    /// One scored group as a line of candidates.jsonl: the prompt's messages, every candidate with its score, whether
    /// the round trusted the pick, a user's target, and the iteration that sampled it (in a round's own folder).
    /// </summary>
    public static JsonObject Line(ScoredGroup group, bool confident, string? labelledTarget, int? iteration = null)
    {
        var line = new JsonObject();
        if (iteration is { } i)
        {
            line["iteration"] = i;
        }

        line["id"] = group.Prompt.Id;
        line["messages"] = Messages(group);
        line["candidates"] = new JsonArray(group.Candidates.Select((c, i) => (JsonNode)new JsonObject { ["text"] = c.Text, ["score"] = group.Scores[i] }).ToArray());
        line["confident"] = confident;
        line["labelled_target"] = labelledTarget;
        return line;
    }

    /// <summary>A chat SFT example (the shape of tao export's hf-chat): the prompt's messages and the answer to learn.</summary>
    public static JsonObject SftLine(string id, JsonArray prompt, string answer, bool labelled)
    {
        var messages = (JsonArray)prompt.DeepClone();
        messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = answer });
        return new JsonObject { ["id"] = id, ["messages"] = messages, ["labelled"] = labelled };
    }

    /// <summary>A preference pair in TRL's conversational DPO shape.</summary>
    public static JsonObject PreferenceLine(JsonNode prompt, string chosen, string rejected) => new()
    {
        ["prompt"] = prompt.DeepClone(),
        ["chosen"] = new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = chosen }),
        ["rejected"] = new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = rejected }),
    };

    /// <summary>
    /// The answer a pair rejects against <paramref name="chosen"/>: the group's lowest-scoring candidate below its best
    /// and different from the chosen one, so a correct answer is never the rejected side; null when there is none.
    /// </summary>
    public static string? Rejected(ScoredGroup group, string? chosen) =>
        chosen is not null && group.Worst is { } worst && worst.Text != chosen && group.Best > group.Scores.Min() ? worst.Text : null;

    private static JsonArray Messages(ScoredGroup group) =>
        new(group.Prompt.Messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray());
}
