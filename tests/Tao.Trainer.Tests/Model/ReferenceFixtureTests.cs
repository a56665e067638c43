using System.Text.Json;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;
using static TorchSharp.torch;

namespace Tao.Trainer.Tests.Model;

/// <summary>
/// The model runtime and the tokenizer against independent implementations, through committed fixtures: small random
/// Llama checkpoints with the logits PyTorch computes for them from Hugging Face's formulas, and tokenizer.json files
/// with the ids Hugging Face's own tokenizers give (tools/reference-fixtures makes both).
/// </summary>
public sealed class ReferenceFixtureTests
{
    private static string Fixtures => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    [Theory]
    [InlineData("llama-tied")]
    [InlineData("llama-untied-rope-scaled")]
    public void Logits_MatchAnIndependentPyTorchLlama(string name)
    {
        var folder = Path.Combine(Fixtures, name);
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "reference.json")));
        using var model = ModelCheckpoint.Load(folder);
        model.eval();
        var sequences = reference.RootElement.GetProperty("sequences").EnumerateArray().Select(s => s.EnumerateArray().Select(t => t.GetInt64()).ToArray()).ToList();
        var expected = reference.RootElement.GetProperty("logits").EnumerateArray().ToList();
        Assert.Equal(name.Contains("untied"), !model.Config.TieWordEmbeddings);

        for (var s = 0; s < sequences.Count; s++)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var ids = tensor(sequences[s], [1, sequences[s].Length]);
            var logits = model.forward(new CausalLMInput(ids))[0];
            var want = tensor(expected[s].EnumerateArray().SelectMany(row => row.EnumerateArray().Select(v => v.GetSingle())).ToArray(), logits.shape);
            var error = (logits - want).abs().max().item<float>();
            Assert.True(error < 1e-4, $"{name}, sequence {s}: largest logit difference {error}");
        }
    }

    [Fact]
    public void TokenIds_MatchHuggingFaceTokenizers()
    {
        var root = Path.Combine(Fixtures, "tokenizers");
        var texts = JsonSerializer.Deserialize<string[]>(File.ReadAllText(Path.Combine(root, "texts.json")))!;
        var folders = Directory.GetDirectories(root).Where(d => File.Exists(Path.Combine(d, "ids.json"))).ToList();
        Assert.NotEmpty(folders);
        foreach (var folder in folders)
        {
            var tokenizer = TextTokenizer.Load(folder);
            using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "ids.json")));
            var expected = fixture.RootElement.GetProperty("ids").EnumerateArray().Select(i => i.EnumerateArray().Select(v => v.GetInt32()).ToArray()).ToList();
            for (var t = 0; t < texts.Length; t++)
            {
                Assert.True(expected[t].SequenceEqual(tokenizer.Encode(texts[t])),
                    $"{Path.GetFileName(folder)}: {JsonSerializer.Serialize(texts[t])} gave [{string.Join(",", tokenizer.Encode(texts[t]))}], Hugging Face [{string.Join(",", expected[t])}]");
            }
        }
    }
}
