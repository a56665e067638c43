using System.Text.RegularExpressions;

namespace Tao.Deploy.Tests;

/// <summary>
/// No line of src/**/*.cs is longer than .editorconfig's max_line_length. Roslyn has no rule for it, so the build
/// cannot enforce it; this test does, reading the limit from the file editors read too.
/// </summary>
public sealed partial class SourceLineLengthTests
{
    /// <summary>
    /// Files another change is rewriting as this rule arrives (the Trainer's Training/ and Benchmark/, the CLI's TAO
    /// benchmark), each allowed the longest line it had. Once a file keeps the limit, its entry must go.
    /// </summary>
    private static readonly Dictionary<string, int> s_allowed = new(StringComparer.Ordinal)
    {
        ["src/Trainer/Training/RoundHealth.cs"] = 202,
        ["src/Cli/Benchmarks/TaoBenchmarkPrinter.cs"] = 221,
        ["src/Cli/Benchmarks/TaoBenchmarkCommand.cs"] = 210,
    };

    [Fact]
    public void EverySourceLine_KeepsTheEditorConfigsLimit()
    {
        var limit = Limit();
        var src = Path.Combine(Manifests.Root, "src");
        var files = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Manifests.Root, f).Replace('\\', '/'))
            .Where(f => !f.Split('/').Any(part => part is "bin" or "obj"))
            .ToList();
        Assert.True(files.Count > 100, $"only {files.Count} source files found under {src}");

        var tooLong = new List<string>();
        var unneeded = new List<string>(s_allowed.Keys.Where(f => !files.Contains(f)));
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(Path.Combine(Manifests.Root, file));
            var allowed = s_allowed.GetValueOrDefault(file, limit);
            tooLong.AddRange(lines.Select((line, i) => (line, i)).Where(l => l.line.Length > allowed)
                .Select(l => $"{file}:{l.i + 1} has {l.line.Length} characters (limit {allowed})"));
            if (s_allowed.ContainsKey(file) && lines.All(l => l.Length <= limit))
            {
                unneeded.Add(file);
            }
        }

        Assert.True(tooLong.Count == 0, string.Join(Environment.NewLine, tooLong));
        Assert.True(unneeded.Count == 0, $"keep the limit now, remove from the allowance: {string.Join(", ", unneeded)}");
    }

    [Fact]
    public void TheLimit_IsNotRaisedPast200()
    {
        Assert.InRange(Limit(), 120, 200);
    }

    private static int Limit()
    {
        var text = File.ReadAllText(Path.Combine(Manifests.Root, ".editorconfig"));
        var section = CSharpSection().Match(text);
        Assert.True(section.Success, ".editorconfig has no [*.cs] section");
        var limit = MaxLineLength().Match(section.Value);
        Assert.True(limit.Success, ".editorconfig's [*.cs] section sets no max_line_length");
        return int.Parse(limit.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^\[\*\.cs\][^\[]*", RegexOptions.Multiline)]
    private static partial Regex CSharpSection();

    [GeneratedRegex(@"^max_line_length\s*=\s*(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex MaxLineLength();
}
