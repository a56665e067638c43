using Tao.Trainer.Checkpoints;
using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;

namespace Tao.Tests;

/// <summary>A tiny random model with a trained tokenizer, saved as a checkpoint folder (built once per test process).</summary>
internal static class TinyBase
{
    private static readonly Lazy<string> s_folder = new(Build);

    public static string Folder => s_folder.Value;

    private static string Build()
    {
        var folder = TestEngine.NewFolder("tiny-base");
        BpeTrainer.Train(Enumerable.Range(0, 60).Select(i => $"user: question number {i} about orders and invoices\nassistant: answer {i} alpha beta"), 320, folder);
        var tokenizer = TextTokenizer.Load(folder);
        TorchSharp.torch.manual_seed(11);
        using var model = new LlamaForCausalLM(new LlamaConfig
        {
            VocabSize = tokenizer.VocabularySize, HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4,
            NumKeyValueHeads = 2, TieWordEmbeddings = true, EosTokenIds = [tokenizer.EosId], BosTokenId = tokenizer.BosId, PadTokenId = tokenizer.PadId,
        });
        ModelCheckpoint.Save(model, folder);
        return folder;
    }
}
