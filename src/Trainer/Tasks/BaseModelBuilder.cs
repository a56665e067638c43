using System.Diagnostics;
using System.Text.Json;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;
using static TorchSharp.torch;

namespace Tao.Trainer.Tasks;

/// <summary>
/// Builds the base model once per recipe and keeps it (config.json, model.safetensors, tokenizer.json in a folder named
/// by the recipe), so the demo, the server and the benchmark share it and later runs start at once.
/// </summary>
public static class BaseModelBuilder
{
    public sealed record Built(string Folder, bool FromCache, TimeSpan BuildTime, SupervisedTrainer.Result? Training);

    /// <summary>The base model of the recipe, trained on every task family (<see cref="TaskFamilies.All"/>), built once and kept.</summary>
    public static async Task<Built> EnsureAsync(string modelsRoot, BaseModelRecipe recipe, Tao.Storage.ClickHouseStore store,
        Action<string>? log, CancellationToken cancellationToken)
    {
        var families = TaskFamilies.All(store);
        var folder = Path.Combine(modelsRoot, recipe.Key);
        if (File.Exists(Path.Combine(folder, "recipe.json")))
        {
            return new Built(folder, true, TimeSpan.Zero, null);
        }

        var clock = Stopwatch.StartNew();
        var building = folder + ".building";
        if (Directory.Exists(building))
        {
            Directory.Delete(building, recursive: true);
        }

        Directory.CreateDirectory(building);
        var examples = new List<SupervisedTrainer.Example>();
        var corpus = new List<string>();
        foreach (var family in families)
        {
            await family.PrepareAsync(cancellationToken);
            var split = family.Generate(recipe.Seed, recipe.BaseCount(family), 0, 0, recipe.Seed);
            var repeats = family.Name == "sql" ? Math.Max(1, recipe.SqlRepeats) : 1;
            examples.AddRange(Enumerable.Repeat(split.BaseTraining, repeats).SelectMany(s => s).Select(e => new SupervisedTrainer.Example(e.Prompt.Messages, e.Gold)));
            corpus.AddRange(split.BaseTraining.SelectMany(e => e.Prompt.Messages.Select(m => m.Content).Append(e.Gold)));
        }

        examples.AddRange(CopyCurriculum.Examples(recipe.Seed, recipe.CopyExamples));
        examples.AddRange(CopyCurriculum.Lookups(recipe.Seed, recipe.LookupExamples));
        log?.Invoke($"building the base model: byte-level BPE tokenizer ({recipe.VocabSize} tokens), then a {recipe.Layers}-layer Llama " +
                    $"trained from scratch for {recipe.Epochs} epochs on {examples.Count} examples (kept in {folder})");
        BpeTrainer.Train(corpus, recipe.VocabSize, building, splitDigits: recipe.SplitDigits);
        var tokenizer = TextTokenizer.Load(building);
        manual_seed(recipe.Seed);
        // A fixed thread count, whatever the host has: how a reduction is split between threads changes its rounding,
        // and a from-scratch training run grows such differences into a different model (see TorchNumerics).
        var threads = get_num_threads();
        set_num_threads(BuildThreads);
        try
        {
            using var model = new LlamaForCausalLM(Config(recipe, tokenizer));
            var lastReport = Stopwatch.StartNew();
            var training = SupervisedTrainer.Train(model, tokenizer, examples, recipe.Epochs, recipe.LearningRate, batchSize: 32, seed: recipe.Seed, promptWeight: (float)recipe.PromptWeight,
                progress: (step, steps, loss) =>
                {
                    if (lastReport.Elapsed > TimeSpan.FromSeconds(15) || step == steps)
                    {
                        var eta = clock.Elapsed / step * (steps - step);
                        log?.Invoke($"  base model: step {step}/{steps}, loss {loss:0.000}, ETA {eta:mm\\:ss}");
                        lastReport.Restart();
                    }
                }, cancellationToken: cancellationToken);
            ModelCheckpoint.Save(model, building);
            File.WriteAllText(Path.Combine(building, "recipe.json"), JsonSerializer.Serialize(recipe, new JsonSerializerOptions { WriteIndented = true }));
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            Directory.Move(building, folder);
            return new Built(folder, false, clock.Elapsed, training);
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    /// <summary>Threads the base model trains on, on every host (the machine kind this project is built for has two cores).</summary>
    public const int BuildThreads = 2;

    private static LlamaConfig Config(BaseModelRecipe recipe, TextTokenizer tokenizer) => new()
    {
        VocabSize = tokenizer.VocabularySize,
        HiddenSize = recipe.HiddenSize,
        IntermediateSize = recipe.HiddenSize * 2,
        NumHiddenLayers = recipe.Layers,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        MaxPositionEmbeddings = 512,
        BosTokenId = tokenizer.BosId,
        EosTokenIds = [tokenizer.EosId],
        PadTokenId = tokenizer.PadId,
        TieWordEmbeddings = true,
    };
}
