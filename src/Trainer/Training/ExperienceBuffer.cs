using System.Text.Json;
using Tao.Trainer.Generation;

namespace Tao.Trainer.Training;

/// <summary>
/// Expert iteration's memory: per prompt, the distinct best candidates of the latest iteration whose group passed the
/// confidence filter. A prompt keeps its targets while later iterations are less sure of it, so what was learned is
/// trained on again (ReST-EM's growing dataset) instead of only what the last sample happened to find.
/// </summary>
internal sealed class ExperienceBuffer
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <param name="Pinned">A target from users (a demonstration or an answer rated up): later picks do not replace it.</param>
    public sealed record Entry(TaskPrompt Prompt, IReadOnlyList<Candidate> Targets, double Score, int Iteration, bool Pinned = false);

    public int Count => _entries.Count;

    public IEnumerable<Entry> Entries => _entries.Values;

    /// <summary>Replaces the prompt's targets with the group's top candidates (at most <paramref name="perPrompt"/>).</summary>
    public void Add(ScoredGroup group, int iteration, int perPrompt)
    {
        if (_entries.TryGetValue(group.Prompt.Id, out var existing) && existing.Pinned)
        {
            return;
        }

        _entries[group.Prompt.Id] = new Entry(group.Prompt, group.Top.Take(Math.Max(1, perPrompt)).ToList(), group.Best, iteration);
    }

    /// <summary>Sets a labelled target for a prompt: trained on every iteration, never replaced by a sampled pick.</summary>
    public void Pin(TaskPrompt prompt, Candidate target) => _entries[prompt.Id] = new Entry(prompt, [target], 1, 0, Pinned: true);

    public bool TryGet(string promptId, out Entry entry) => _entries.TryGetValue(promptId, out entry!);

    private sealed record Line(string Id, List<Candidate> Targets, double Score, int Iteration, bool Pinned = false);

    public void Save(string path)
    {
        var temp = path + ".tmp";
        File.WriteAllLines(temp, _entries.Values.OrderBy(e => e.Prompt.Id, StringComparer.Ordinal)
            .Select(e => JsonSerializer.Serialize(new Line(e.Prompt.Id, [.. e.Targets], e.Score, e.Iteration, e.Pinned))));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a saved buffer back for the prompts of this round (entries of other prompts are dropped).</summary>
    public void Load(string path, IReadOnlyDictionary<string, TaskPrompt> prompts)
    {
        if (!File.Exists(path))
        {
            return;
        }

        foreach (var line in File.ReadLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<Line>(l)!))
        {
            if (prompts.TryGetValue(line.Id, out var prompt))
            {
                _entries[line.Id] = new Entry(prompt, line.Targets, line.Score, line.Iteration, line.Pinned);
            }
        }
    }
}
