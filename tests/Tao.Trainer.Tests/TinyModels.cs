using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Tests;

internal static class TinyModels
{
    public static LlamaConfig Config(int vocab = 300, bool tied = false) => new()
    {
        VocabSize = vocab,
        HiddenSize = 32,
        IntermediateSize = 64,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        MaxPositionEmbeddings = 256,
        TieWordEmbeddings = tied,
        EosTokenIds = [2],
        BosTokenId = 1,
        PadTokenId = 0,
    };

    public static LlamaForCausalLM Create(int seed = 1, int vocab = 300, bool tied = false)
    {
        TorchSharp.torch.manual_seed(seed);
        return new LlamaForCausalLM(Config(vocab, tied));
    }

    public static string Folder(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), "tao-trainer-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A small byte-level BPE tokenizer trained on a few sentences, saved and loaded like a downloaded one.</summary>
    public static TextTokenizer Tokenizer()
    {
        var folder = Folder("tokenizer");
        var corpus = Enumerable.Range(0, 50).Select(i => $"user: how many orders in region {i % 7}?\nassistant: SELECT count() FROM orders WHERE region = {i % 7}");
        BpeTrainer.Train(corpus, 300, folder);
        return TextTokenizer.Load(folder);
    }
}
