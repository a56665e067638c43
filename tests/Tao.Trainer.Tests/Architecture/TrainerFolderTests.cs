using System.Text.RegularExpressions;

namespace Tao.Trainer.Tests.Architecture;

/// <summary>
/// The Trainer's folders form layers: the model runtime at the bottom (<c>Model/</c>, the decoder, and <c>Checkpoints/</c>,
/// its files), then generation, scoring, training and the benchmark — no folder in a cycle, so each reads without the
/// ones above it. A folder of src/Trainer can name another's types
/// only through a using, a global using of the project, or a qualified name (<c>Tao.Trainer.X.T</c>, or <c>X.T</c> since
/// every folder's namespace lies inside <c>Tao.Trainer</c>); this reads those from the source, comments left out.
/// </summary>
public sealed partial class TrainerFolderTests
{
    private static readonly string s_trainer = Path.Combine(RepositoryRoot.Path, "src", "Trainer");

    [Theory]
    [InlineData("Model")]
    [InlineData("Checkpoints")]
    public void AFolderOfTheModelRuntime_IsInNoCycle(string folder)
    {
        var edges = Edges();
        var cycle = PathBetween(edges, folder, folder);
        Assert.True(cycle is null, cycle is null ? null : $"folder cycle {string.Join(" -> ", cycle)}");
    }

    [Fact]
    public void EveryFolder_IsInNoCycle()
    {
        // The inputs a round samples (Generation/TaskPrompt) and the batch of sequences the losses and the reward model
        // read (Model/SequenceBatch) sit below Training, so Generation and Scoring no longer reach up into it.
        var edges = Edges();
        var cycles = edges.Keys.Order(StringComparer.Ordinal).Select(f => PathBetween(edges, f, f)).OfType<List<string>>()
            .Select(c => string.Join(" -> ", c)).ToList();
        Assert.True(cycles.Count == 0, "folder cycles: " + string.Join("; ", cycles));
    }

    [Fact]
    public void TheScan_SeesUsesKnownFromTheSource()
    {
        var edges = Edges();
        Assert.Contains("Model", edges["Checkpoints"]);   // ModelCheckpoint builds a LlamaForCausalLM
        Assert.Contains("Checkpoints", edges["Scoring"]); // the reward-model scorer loads through RewardModelCheckpoint
        Assert.Empty(edges["Model"]);                     // the decoder needs nothing else of the Trainer
    }

    [Fact]
    public void TheProject_HasNoGlobalUsingOfItsOwnFolders()
    {
        // A global using would let every file name a folder's types without a trace in the file itself.
        Assert.DoesNotMatch(@"<Using\s+Include=""Tao\.Trainer\.", File.ReadAllText(Path.Combine(s_trainer, "Tao.Trainer.csproj")));
    }

    /// <summary>Folder → the other folders of src/Trainer its source names.</summary>
    private static Dictionary<string, HashSet<string>> Edges()
    {
        var folders = Directory.EnumerateDirectories(s_trainer).Select(Path.GetFileName).OfType<string>()
            .Where(f => f is not ("bin" or "obj"))
            .ToHashSet(StringComparer.Ordinal);
        var qualified = new Regex($@"(?:\bTao\.Trainer\.|(?<![\w.]))({string.Join('|', folders)})\.[A-Z]");
        var edges = folders.ToDictionary(f => f, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(s_trainer, folder), "*.cs", SearchOption.AllDirectories))
            {
                var code = LineComment().Replace(BlockComment().Replace(File.ReadAllText(file), ""), "");
                var named = Using().Matches(code).Select(m => m.Groups[1].Value).Concat(qualified.Matches(code).Select(m => m.Groups[1].Value));
                edges[folder].UnionWith(named.Where(n => n != folder && folders.Contains(n)));
            }
        }

        return edges;
    }

    /// <summary>A path from one folder to another along the edges (at least one step), or null.</summary>
    private static List<string>? PathBetween(Dictionary<string, HashSet<string>> edges, string from, string to)
    {
        var previous = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>([from]);
        while (queue.TryDequeue(out var node))
        {
            foreach (var next in edges[node].Order(StringComparer.Ordinal))
            {
                if (next == to)
                {
                    var path = new List<string> { to, node };
                    while (path[^1] != from)
                    {
                        path.Add(previous[path[^1]]);
                    }

                    path.Reverse();
                    return path;
                }

                if (next != from && previous.TryAdd(next, node))
                {
                    queue.Enqueue(next);
                }
            }
        }

        return null;
    }

    [GeneratedRegex(@"^\s*using\s+(?:static\s+)?Tao\.Trainer\.(\w+)", RegexOptions.Multiline)]
    private static partial Regex Using();

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex BlockComment();
}
