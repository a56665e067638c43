using System.CommandLine;
using System.Globalization;
using System.Text;
using Tao.Flywheel;
using Tao.Storage;
using Tao.Trainer.Benchmark;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Model;
using Tao.Trainer.Tasks;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Cli.Benchmarks;

/// <summary>
/// tao bench gate: does the flywheel's promotion gate promote only real wins? For several traffic seeds and each task
/// family, three candidates go through the flywheel's own evaluation (VersionEvaluator) and rule (PromotionPolicy):
/// a TAO round's result, a deliberately worse one (fine-tuned on gold answers shuffled between inputs), and a no-op
/// (the live weights unchanged). Prints every decision with its intervals.
/// </summary>
internal static class GateBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var seeds = new Option<int>("--seeds") { Description = "Traffic seeds (runs per candidate kind). Default: 5.", DefaultValueFactory = _ => 5 };
        var only = new Option<string[]>("--family") { Description = "Families (sql, docqa, units). Default: all.", AllowMultipleArgumentsPerToken = true };
        var docs = new Option<bool>("--write-docs") { Description = "Also write the table to docs/benchmarks.md." };
        var command = new Command("gate",
            "Check the flywheel's promotion gate with real candidates: per family and traffic seed, a TAO round's candidate, a worse one " +
            "(trained on shuffled answers) and a no-op (identical weights) are compared with the live base model on a labelled canary " +
            "slice and on held-out inputs by the flywheel's own evaluation, and decided by its PromotionPolicy.")
        {
            seeds, only, docs,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var folder = Path.GetFullPath(Path.Combine(".tao", "bench", "gate-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", Inv)));
            Directory.CreateDirectory(folder);
            await using var store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = Path.Combine(folder, "clickhouse"), Database = "tao" }, cancellationToken);
            var families = TaskFamilies.All(store).Where(f => result.GetValue(only) is not { Length: > 0 } names || names.Contains(f.Name)).ToList();
            foreach (var family in families)
            {
                await family.PrepareAsync(cancellationToken);
            }

            var recipe = new BaseModelRecipe();
            var built = await BaseModelBuilder.EnsureAsync(Path.GetFullPath(Path.Combine(".tao", "models")), recipe, store, Console.WriteLine, cancellationToken);
            var tokenizer = TextTokenizer.Load(built.Folder);
            using var live = ModelCheckpoint.Load(built.Folder);
            var rows = new List<(string Family, int Seed, string Candidate, PromotionDecision Decision)>();
            var start = DateTime.UtcNow;
            foreach (var family in families)
            {
                var (tune, heldOut) = new Trainer.Benchmark.TaoBenchmarkOptions().SizeOf(family);
                for (var seed = 1; seed <= result.GetValue(seeds); seed++)
                {
                    var split = family.Generate(recipe.Seed, recipe.BaseCount(family), tune, heldOut, seed);
                    foreach (var kind in new[] { "tao", "worse", "no-op" })
                    {
                        using var candidate = await CandidateAsync(kind, family, live, tokenizer, split, seed, cancellationToken);
                        var decision = await DecideAsync(store, family, live, candidate, tokenizer, split.HeldOut, cancellationToken);
                        rows.Add((family.Name, seed, kind, decision));
                        Console.WriteLine($"[{(DateTime.UtcNow - start).TotalSeconds,5:0}s] {family.Name} seed {seed} {kind}: {(decision.Promote ? "PROMOTED" : "rejected")} — {decision.Reason}");
                    }
                }
            }

            var markdown = Markdown(rows);
            Console.WriteLine();
            Console.WriteLine(markdown);
            await File.WriteAllTextAsync(Path.Combine(folder, "report.md"), markdown, cancellationToken);
            if (result.GetValue(docs))
            {
                await BenchmarkDocs.WriteSectionAsync("gate", markdown, cancellationToken);
            }

            var expected = rows.All(r => r.Decision.Promote == (r.Candidate == "tao"));
            return expected ? 0 : 1;
        });
        return command;
    }

    private static async Task<LlamaForCausalLM> CandidateAsync(string kind, ITaskFamily family, LlamaForCausalLM live, TextTokenizer tokenizer,
        TaskSplit split, int seed, CancellationToken cancellationToken)
    {
        var candidate = ModelCopies.Frozen(live);
        foreach (var parameter in candidate.parameters())
        {
            parameter.requires_grad = kind != "no-op";
        }

        switch (kind)
        {
            case "tao":
                var options = new TaoRoundOptions { Seed = (ulong)seed, Generation = new Trainer.Generation.GenerationOptions { MaxNewTokens = family.MaxAnswerTokens, BatchSize = 1024 } };
                await new TaoRound(candidate, tokenizer, family.Scorer(), options).RunAsync(split.Tuning.Select(e => e.Prompt).ToList(), null, cancellationToken);
                break;
            case "worse":
                // Gold answers, each moved to another input: well-formed answers to the wrong questions.
                var random = new Random(seed);
                var shuffled = split.Tuning.Select(e => e.Gold).OrderBy(_ => random.Next()).ToList();
                var examples = split.Tuning.Select((e, i) => new SupervisedTrainer.Example(e.Prompt.Messages, shuffled[i])).ToList();
                SupervisedTrainer.Train(candidate, tokenizer, examples, epochs: 3, learningRate: 1e-3, batchSize: 16, seed: seed, cancellationToken: cancellationToken);
                break;
        }

        return candidate;
    }

    /// <summary>The flywheel's gate for the TAO benchmark's rounds curve: the same evaluation and rule as this benchmark's.</summary>
    public static RoundGate FlywheelGate(ClickHouseStore store) => async (family, live, candidate, tokenizer, examples, cancellationToken) =>
    {
        var decision = await DecideAsync(store, family, live, candidate, tokenizer, examples, cancellationToken);
        return new RoundGateDecision(decision.Promote, decision.Reason);
    };

    /// <summary>
    /// The flywheel's evaluation and rule on <paramref name="examples"/>: the first 80 as held-out inputs (verifiers only),
    /// the rest as a labelled canary, paired.
    /// </summary>
    private static async Task<PromotionDecision> DecideAsync(ClickHouseStore store, ITaskFamily family, LlamaForCausalLM live, LlamaForCausalLM candidate,
        TextTokenizer tokenizer, IReadOnlyList<LabelledExample> examples, CancellationToken cancellationToken)
    {
        var evaluator = new VersionEvaluator(store);
        var heldOutInputs = examples.Take(80).Select(e => e.Prompt).ToList();
        var signals = new List<PromotionSignal>();
        if (await evaluator.VerifiedAsync(live, candidate, tokenizer, heldOutInputs, family.Scorer(), family.MaxAnswerTokens, cancellationToken) is { } verified)
        {
            signals.Add(new PromotionSignal(family.Name, SignalKind.Verified, Paired(verified)));
        }

        var right = await RightAsync(family, live, candidate, tokenizer, examples.Skip(80).ToList(), cancellationToken);
        signals.Add(new PromotionSignal(family.Name, SignalKind.Labelled, Paired(right)));
        return new PromotionPolicy(0).Decide(signals);
    }

    /// <summary>Canary correctness judged the family's way (SQL results, exact fields, the converted quantity).</summary>
    private static async Task<List<(bool, bool)>> RightAsync(ITaskFamily family, LlamaForCausalLM live, LlamaForCausalLM candidate, TextTokenizer tokenizer,
        IReadOnlyList<LabelledExample> examples, CancellationToken cancellationToken)
    {
        var before = await TaskEvaluator.EvaluateAsync(live, tokenizer, family, examples, cancellationToken);
        var after = await TaskEvaluator.EvaluateAsync(candidate, tokenizer, family, examples, cancellationToken);
        return before.Right.Zip(after.Right).ToList();
    }

    private static Trainer.Evaluation.PairedComparison Paired(IReadOnlyList<(bool Live, bool Candidate)> items) =>
        Trainer.Evaluation.PairedComparison.Compute(items.Select(i => (i.Live ? 1.0 : 0.0, i.Candidate ? 1.0 : 0.0, "all")).ToList());

    private static string Markdown(List<(string Family, int Seed, string Candidate, PromotionDecision Decision)> rows)
    {
        var text = new StringBuilder();
        text.AppendLine("The flywheel's promotion gate on real candidates (`./tao bench gate`): each candidate is compared with the live base model " +
                        "on 80 held-out inputs (verifier pass rate, each answer checked alone) and a labelled canary of the rest of the held-out " +
                        "set, paired; PromotionPolicy promotes only when a 95 % interval clears 0 and none falls below it.");
        text.AppendLine();
        text.AppendLine("| family | candidate | promoted | runs | labelled canary gain [95 % CI] per run |");
        text.AppendLine("|---|---|---:|---:|---|");
        foreach (var group in rows.GroupBy(r => (r.Family, r.Candidate)))
        {
            var gains = group.Select(r => r.Decision.Verdicts.FirstOrDefault(v => v.Signal.Kind == SignalKind.Labelled)?.Signal.Comparison)
                .Select(c => c is null ? "—" : string.Create(Inv, $"{c.Gain * 100:+0.0;-0.0} [{c.Low * 100:+0.0;-0.0}, {c.High * 100:+0.0;-0.0}]"));
            text.AppendLine($"| {group.Key.Family} | {group.Key.Candidate} | {group.Count(r => r.Decision.Promote)} | {group.Count()} | {string.Join("; ", gains)} |");
        }

        text.AppendLine();
        text.AppendLine("Reasons recorded for the rejected ones:");
        text.AppendLine();
        foreach (var row in rows.Where(r => !r.Decision.Promote))
        {
            text.AppendLine($"- {row.Family} seed {row.Seed} {row.Candidate}: {row.Decision.Reason}");
        }

        return text.ToString();
    }
}
