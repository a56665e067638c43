using System.Text.Json;
using Tao.Cli;
using Tao.Tests;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Generation;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Deploy.Tests.Commands;

/// <summary>
/// tao export --round as a user runs it, over the folder a real round wrote under the data folder's flywheel work path:
/// every scored group, the final targets as chat examples, and best-against-worst pairs, each with its manifest; and
/// tao flywheel trace over the same kind of folder (every kept weights on a labelled set).
/// </summary>
[Collection(EmbeddedEngineCollection.Name)]
public sealed class ExportRoundCommandTests
{
    [Fact]
    public async Task ExportRound_WritesItsScoredCandidates_ItsFinalTargets_AndPairs_WithManifests()
    {
        var data = TestEngine.NewFolder("export-round");
        await RunRoundAsync(data);

        var candidates = await ExportAsync(data, "candidates");
        Assert.Equal(12, candidates.Length); // six inputs, two iterations
        Assert.Equal([1, 2], candidates.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("iteration").GetInt32()).Distinct().Order());
        Assert.All(candidates, l => Assert.Equal(4, JsonDocument.Parse(l).RootElement.GetProperty("candidates").GetArrayLength()));

        var sft = await ExportAsync(data, "sft");
        Assert.Equal(6, sft.Length);
        Assert.All(sft, line => Assert.Empty(FineTuningValidators.HfChat(line)));
        Assert.All(sft, line => Assert.Equal(["system", "user", "assistant"],
            JsonDocument.Parse(line).RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString())));
        Assert.All(sft, line => Assert.Contains("\"content\":\"fine answer\"", line, StringComparison.Ordinal));

        var pairs = await ExportAsync(data, "preferences");
        Assert.Equal(6, pairs.Length);
        Assert.All(pairs, line => Assert.Empty(FineTuningValidators.Preference(line)));
        var pair = JsonDocument.Parse(pairs[0]).RootElement;
        Assert.Equal("fine answer", pair.GetProperty("chosen")[0].GetProperty("content").GetString());
        Assert.Equal("bad answer", pair.GetProperty("rejected")[0].GetProperty("content").GetString());

        var output = Path.Combine(data, "out", "round-sft.jsonl");
        using var manifest = JsonDocument.Parse(File.ReadAllText(output + ".manifest.json"));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(output))), manifest.RootElement.GetProperty("sha256").GetString());
        Assert.Equal("round-sft", manifest.RootElement.GetProperty("format").GetString());
        Assert.Equal("support-r1", manifest.RootElement.GetProperty("filters").GetProperty("round").GetString());
        Assert.Equal(6, manifest.RootElement.GetProperty("counts").GetProperty("examples").GetInt64());

        Assert.Equal(1, await TaoCli.Create().Parse(["export", "--data", data, "--round", "no-such-round", "--out", output]).InvokeAsync());
        Assert.Equal(2, await TaoCli.Create().Parse(["export", "--data", data, "--round", "support-r1", "--format", "parquet", "--out", output]).InvokeAsync());
    }

    [Fact]
    public async Task FlywheelTrace_EvaluatesEveryKeptWeights_OnALabelledSet_BesideTheirDevScores()
    {
        var data = TestEngine.NewFolder("trace-round");
        var round = await RunRoundAsync(data, inputs: 12, minDev: 2); // with a dev slice (2 of the 12)
        // Four labelled questions: two expect what the starting weights answer, two something no model says.
        var questions = Enumerable.Range(0, 4).Select(i => (IReadOnlyList<ChatMessage>)[new ChatMessage("user", $"question number {i}")]).ToList();
        var tokenizer = TextTokenizer.Load(TinyBase.Folder);
        List<string> answers;
        using (var model = ModelCheckpoint.Load(TinyBase.Folder))
        {
            answers = new TextGenerator(model, tokenizer).Generate(questions.Select(tokenizer.EncodePrompt).ToList(),
                new GenerationOptions { Temperature = 0, MaxNewTokens = 8, BatchSize = 4 }).Select(g => g.Text.Trim()).ToList();
        }

        var labelled = Path.Combine(data, "labelled.jsonl");
        Flywheel.LabelledSet.Write(labelled, questions.Select((q, i) => new Flywheel.LabelledEvalExample(q, i < 2 ? answers[i] : "no model says this",
            new Dictionary<string, string>())));

        var args = new[] { "flywheel", "trace", round, "--labelled", labelled, "--model", TinyBase.Folder, "--max-tokens", "8", "--data", data };
        Assert.Equal(0, await TaoCli.Create().Parse(args).InvokeAsync());

        var lines = File.ReadAllLines(Path.Combine(round, "trace.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal([0, 1, 2], lines.Select(l => l.GetProperty("id").GetInt32())); // the starting weights and both iterations
        Assert.Equal(0.5, lines[0].GetProperty("labelled").GetDouble());
        Assert.Equal([true, true, false, false], lines[0].GetProperty("right").EnumerateArray().Select(r => r.GetBoolean()));
        Assert.All(lines, l => Assert.Equal(4, l.GetProperty("right").GetArrayLength()));
        Assert.All(lines, l => Assert.Equal(JsonValueKind.Number, l.GetProperty("dev").ValueKind)); // the scores the round chose by

        Assert.Equal(2, await TaoCli.Create().Parse(["flywheel", "trace", data, "--labelled", labelled, "--model", TinyBase.Folder, "--data", data]).InvokeAsync());
    }

    /// <summary>A two-iteration round under the data folder's flywheel work path, as the flywheel writes one; its folder.</summary>
    private static async Task<string> RunRoundAsync(string data, int inputs = 6, int minDev = 8)
    {
        var round = Path.Combine(data, "flywheel", "rounds", "support-r1");
        using var model = ModelCheckpoint.Load(TinyBase.Folder);
        var prompts = Enumerable.Range(0, inputs)
            .Select(i => new TaskPrompt($"p{i}", [new ChatMessage("system", "Be brief."), new ChatMessage("user", $"question number {i}")])).ToList();
        var options = new TaoRoundOptions
        {
            Candidates = 4, Iterations = 2, ResampleCovered = true, MinCoverageGain = 0, PolishEpochs = 0, BatchSize = 8, MinDevPrompts = minDev,
            Generation = new GenerationOptions { MaxNewTokens = 4 },
        };
        await new TaoRound(model, TextTokenizer.Load(TinyBase.Folder), new PrefersFine(), options, new Answers(["bad answer", "fine answer"]), Path.Combine(round, "tao"))
            .RunAsync(prompts, heldOut: null, default);
        return round;
    }

    private static async Task<string[]> ExportAsync(string data, string format)
    {
        var output = Path.Combine(data, "out", $"round-{format}.jsonl");
        Assert.Equal(0, await TaoCli.Create().Parse(["export", "--data", data, "--round", "support-r1", "--format", format, "--out", output]).InvokeAsync());
        return File.ReadAllLines(output);
    }

    /// <summary>The same two answers to every prompt, so what the round keeps is known.</summary>
    private sealed class Answers(string[] answers) : ICandidateSource
    {
        public Task<IReadOnlyList<IReadOnlyList<Candidate>>> GenerateAsync(IReadOnlyList<TaskPrompt> prompts, int perPrompt, GenerationOptions options,
            CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<IReadOnlyList<Candidate>>>(
                prompts.Select(_ => (IReadOnlyList<Candidate>)Enumerable.Range(0, perPrompt).Select(i => new Candidate(answers[i % answers.Length])).ToList()).ToList());
    }

    /// <summary>A verifier that passes the fine answer and half-passes the other.</summary>
    private sealed class PrefersFine : IScorer
    {
        public string Name => "prefers-fine";

        public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken) =>
            Task.FromResult(group.Candidates.Select(c => c.Contains("fine", StringComparison.Ordinal) ? 1.0 : 0.2).ToArray());
    }
}
