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
                var messages = (JsonArray)prompt.DeepClone();
                messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = best });
                examples.WriteLine(new JsonObject { ["id"] = group.Prompt.Id, ["messages"] = messages, ["labelled"] = target is not null }.ToJsonString());
                sft++;
                fromUsers += target is not null ? 1 : 0;
            }

            // A pair teaches only when its rejected side scored below the best: a correct answer is never the rejected one.
            if (best is not null && group.Worst is { } worst && worst.Text != best && group.Best > group.Scores.Min())
            {
                preferences.WriteLine(new JsonObject
                {
                    ["prompt"] = prompt.DeepClone(),
                    ["chosen"] = new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = best }),
                    ["rejected"] = new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = worst.Text }),
                }.ToJsonString());
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

    private static JsonArray Messages(ScoredGroup group) =>
        new(group.Prompt.Messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content }).ToArray());
}
