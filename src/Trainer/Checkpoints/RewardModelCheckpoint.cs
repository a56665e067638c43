using Tao.Trainer.Model;
using static TorchSharp.torch;

namespace Tao.Trainer.Checkpoints;

/// <summary>
/// A <see cref="LlamaRewardModel"/> as a Hugging Face checkpoint folder: config.json naming the
/// LlamaForSequenceClassification architecture, and the weights (decoder and "score" head) as safetensors.
/// </summary>
internal static class RewardModelCheckpoint
{
    public const string Architecture = "LlamaForSequenceClassification";

    public static void Save(LlamaRewardModel model, string folder)
    {
        Directory.CreateDirectory(folder);
        var config = model.Config;
        var architectures = config.Architectures;
        config.Architectures = [Architecture];
        try
        {
            config.Save(Path.Combine(folder, "config.json"));
        }
        finally
        {
            config.Architectures = architectures;
        }

        ModelCheckpoint.SaveTensors(folder, model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList(), long.MaxValue);
    }

    public static LlamaRewardModel Load(string folder, Device? device = null)
    {
        var model = new LlamaRewardModel(LlamaConfig.Load(Path.Combine(folder, "config.json")), device);
        ModelCheckpoint.LoadWeights(folder, model.named_parameters().Select(p => (p.name, p.parameter)).ToList());
        return model;
    }
}
