using Tao.Trainer.Checkpoints;
using Tao.Trainer.Lora;
using Tao.Trainer.Model;
using Tao.Trainer.Training;
using static TorchSharp.torch;

namespace Tao.Trainer.Tests.Lora;

public sealed class LoraTests
{
    private static readonly Tensor Probe = tensor(new long[] { 5, 9, 12, 40, 7, 1, 2, 3 }, [2, 4]);

    private static void TrainSteps(LlamaForCausalLM model, int steps)
    {
        using var optimizer = optim.AdamW(model.parameters().Where(p => p.requires_grad), lr: 1e-2);
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var (ids, attention, target) = SequenceBatch.Build([([1, 5, 9], [12, 40, 2])], 0, CPU);
            var (logProbs, mask) = SequenceBatch.TokenLogProbs(model, ids, attention, target);
            Losses.Sft(logProbs, mask).backward();
            optimizer.step();
        }
    }

    private static Tensor Logits(LlamaForCausalLM model)
    {
        using var noGrad = no_grad();
        return model.forward(new CausalLMInput(Probe));
    }

    [Fact]
    public void Adapters_StartAsTheBase_AndOnlyTheyTrain()
    {
        using var model = TinyModels.Create();
        var before = Logits(model);
        var baseWeight = model.model.layers[0].mlp.up_proj.parameters().First().detach().clone();

        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 4 });

        Assert.True(before.allclose(Logits(model), atol: 1e-6), "B = 0: the adapted model must equal its base");
        Assert.All(model.named_parameters(), p => Assert.Equal(p.name.Contains("lora_"), p.parameter.requires_grad));
        TrainSteps(model, 5);
        Assert.False(before.allclose(Logits(model), atol: 1e-4), "training the adapters must change the model");
        Assert.True(baseWeight.allclose(model.model.layers[0].mlp.up_proj.parameters().First(), rtol: 0, atol: 0), "base weights stay frozen");
        Assert.Equal(2 * 4, adapters.Count);
    }

    [Fact]
    public void PeftExport_UsesPeftNamesAndShapes_AndLoadsBackToTheSameModel()
    {
        using var model = TinyModels.Create();
        var options = new LoraOptions { Rank = 4, Alpha = 8, TargetModules = ["q_proj", "v_proj"] };
        var adapters = LoraAdapters.Apply(model, options);
        TrainSteps(model, 5);
        var folder = TinyModels.Folder("peft");

        LoraAdapters.ExportPeft(adapters, options, folder, "tao/base");

        var header = SafeTensors.ReadHeader(Path.Combine(folder, "adapter_model.safetensors"));
        Assert.Equal(2 * 2 * 2, header.Count);
        Assert.Equal([4L, 32L], header["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"].Shape);
        Assert.Equal([16L, 4L], header["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"].Shape);
        var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json"))).RootElement;
        Assert.Equal("LORA", config.GetProperty("peft_type").GetString());
        Assert.Equal(4, config.GetProperty("r").GetInt32());

        using var fresh = TinyModels.Create(); // same seed: the same base
        LoraAdapters.LoadPeft(fresh, folder);
        Assert.True(Logits(model).allclose(Logits(fresh), atol: 1e-5));
    }

    [Fact]
    public void Merge_FoldsAdaptersIntoPlainWeights_ThatSaveAndLoadAsABaseCheckpoint()
    {
        using var model = TinyModels.Create();
        LoraAdapters.Apply(model, new LoraOptions { Rank = 4, TargetModules = ["q_proj", "o_proj", "down_proj"] });
        TrainSteps(model, 5);
        var adapted = Logits(model);

        LoraAdapters.Merge(model);

        Assert.DoesNotContain(model.named_parameters(), p => p.name.Contains("lora_"));
        Assert.True(adapted.allclose(Logits(model), atol: 1e-4));
        var folder = TinyModels.Folder("merged");
        ModelCheckpoint.Save(model, folder);
        using var reloaded = ModelCheckpoint.Load(folder);
        Assert.True(adapted.allclose(Logits(reloaded), atol: 1e-4));
    }
}
