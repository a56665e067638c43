using System.Text;
using System.Text.Json.Nodes;
using Tao.Trainer.Generation;

namespace Tao.Trainer.Training;

/// <summary>
/// A round's artefacts leave as the files trainers read (tao export --round): every scored group it sampled
/// (candidates), what it trained on at the end (sft: its final buffer of targets as chat examples, the shape of tao
/// export's hf-chat), and best-against-worst pairs from each input's last group (preferences, TRL's conversational DPO
/// shape). Read from the round's folder: candidates.jsonl and buffer.jsonl, written by <see cref="TaoRound"/>.
/// </summary>
public static class RoundArtefacts
{
    public const string CandidatesFile = "candidates.jsonl";
    public const string BufferFile = "buffer.jsonl";

    public static IReadOnlyList<string> Formats { get; } = ["candidates", "sft", "preferences"];

    /// <summary>Where a flywheel round kept its TAO folder (under the flywheel's work path), or null when it has none.</summary>
    public static string? Folder(string flywheelWorkPath, string roundId)
    {
        if (roundId.Length == 0 || roundId.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || roundId.Contains("..", StringComparison.Ordinal))
        {
            return null;
        }

        var folder = Path.Combine(flywheelWorkPath, "rounds", roundId, "tao");
        return File.Exists(Path.Combine(folder, CandidatesFile)) ? folder : null;
    }

    /// <summary>Writes the round's artefacts in <paramref name="format"/> (one of <see cref="Formats"/>) and counts what it wrote.</summary>
    public static SortedDictionary<string, long> Write(string folder, string format, Stream output)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        using var writer = new StreamWriter(output, new UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
        var groups = File.ReadLines(Path.Combine(folder, CandidatesFile)).Where(l => l.Length > 0);
        switch (format)
        {
            case "candidates":
                foreach (var line in groups)
                {
                    writer.WriteLine(line);
                    Add(counts, "groups");
                }

                break;
            case "sft":
                var messages = LastGroups(groups).ToDictionary(g => g.Key, g => (JsonArray)g.Value["messages"]!, StringComparer.Ordinal);
                foreach (var entry in Buffer(folder))
                {
                    if (!messages.TryGetValue(entry.Id, out var prompt))
                    {
                        Add(counts, "skipped_without_messages");
                        continue;
                    }

                    foreach (var target in entry.Targets)
                    {
                        writer.WriteLine(CandidateSetWriter.SftLine(entry.Id, prompt, target, entry.Pinned).ToJsonString());
                        Add(counts, entry.Pinned ? "examples_from_users" : "examples");
                    }
                }

                break;
            case "preferences":
                var targets = Buffer(folder).ToDictionary(e => e.Id, e => e.Targets.FirstOrDefault(), StringComparer.Ordinal);
                foreach (var (id, line) in LastGroups(groups))
                {
                    var candidates = line["candidates"]!.AsArray();
                    var scored = new ScoredGroup(new TaskPrompt(id, []), candidates.Select(c => new Candidate(c!["text"]!.GetValue<string>())).ToList(),
                        candidates.Select(c => c!["score"]!.GetValue<double>()).ToArray());
                    var chosen = targets.GetValueOrDefault(id);
                    if (CandidateSetWriter.Rejected(scored, chosen) is not { } rejected)
                    {
                        Add(counts, "skipped_without_a_pair");
                        continue;
                    }

                    writer.WriteLine(CandidateSetWriter.PreferenceLine(line["messages"]!, chosen!, rejected).ToJsonString());
                    Add(counts, "pairs");
                }

                break;
            default:
                throw new ArgumentException($"'{format}' is not one of {string.Join(", ", Formats)}", nameof(format));
        }

        return counts;
    }

    private sealed record BufferEntry(string Id, IReadOnlyList<string> Targets, bool Pinned);

    /// <summary>The round's final buffer (what its last training step, the polish, trained on).</summary>
    private static IEnumerable<BufferEntry> Buffer(string folder)
    {
        var path = Path.Combine(folder, BufferFile);
        if (!File.Exists(path))
        {
            yield break;
        }

        foreach (var line in File.ReadLines(path).Where(l => l.Length > 0))
        {
            var node = JsonNode.Parse(line)!;
            yield return new BufferEntry(node["Id"]!.GetValue<string>(), node["Targets"]!.AsArray().Select(t => t!["Text"]!.GetValue<string>()).ToList(),
                node["Pinned"]?.GetValue<bool>() ?? false);
        }
    }

    /// <summary>Each input's latest scored group (a later iteration's replaces an earlier one's).</summary>
    private static Dictionary<string, JsonNode> LastGroups(IEnumerable<string> lines)
    {
        var last = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var node = JsonNode.Parse(line)!;
            last[node["id"]!.GetValue<string>()] = node;
        }

        return last;
    }

    private static void Add(SortedDictionary<string, long> counts, string name) => counts[name] = counts.GetValueOrDefault(name) + 1;
}
