using System.Text.Json;
using System.Text.Json.Nodes;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Model;
using static TorchSharp.torch;

namespace Tao.Trainer.Lora;

/// <summary>
/// Puts LoRA adapters on a model, exports them in PEFT's format (adapter_config.json + adapter_model.safetensors with
/// PEFT's tensor names, which vLLM loads at runtime), loads them back, and merges them into the base weights.
/// </summary>
public static class LoraAdapters
{
    private const string PeftPrefix = "base_model.model.";

    /// <summary>Freezes the base model and swaps the target projections for adapted ones; returns them by module path.</summary>
    public static IReadOnlyDictionary<string, LoraLinear> Apply(LlamaForCausalLM model, LoraOptions options)
    {
        foreach (var parameter in model.parameters())
        {
            parameter.requires_grad = false;
        }

        var adapted = new Dictionary<string, LoraLinear>(StringComparer.Ordinal);
        for (var i = 0; i < model.model.layers.Count; i++)
        {
            var layer = model.model.layers[i];
            foreach (var name in options.TargetModules)
            {
                var path = $"model.layers.{i}.{(name is "gate_proj" or "up_proj" or "down_proj" ? "mlp" : "self_attn")}.{name}";
                var lora = Swap(layer, name, options);
                adapted[path] = lora;
            }
        }

        return adapted;
    }

    private static LoraLinear Swap(LlamaDecoderLayer layer, string name, LoraOptions options)
    {
        nn.Module owner = name is "gate_proj" or "up_proj" or "down_proj" ? layer.mlp : layer.self_attn;
        var field = owner.GetType().GetField(name) ?? throw new ArgumentException($"no projection named {name}");
        if (field.GetValue(owner) is not TorchSharp.Modules.Linear linear)
        {
            throw new InvalidOperationException($"{name} is already adapted");
        }

        var lora = new LoraLinear(linear, options);
        ModuleSurgery.Replace(owner, name, lora);
        linear.Dispose();
        return lora;
    }

    /// <summary>Writes adapter_config.json and adapter_model.safetensors as PEFT does.</summary>
    public static void ExportPeft(IReadOnlyDictionary<string, LoraLinear> adapters, LoraOptions options, string folder, string baseModel)
    {
        Directory.CreateDirectory(folder);
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModel,
            ["r"] = options.Rank,
            ["lora_alpha"] = options.Alpha,
            ["lora_dropout"] = 0.0,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["target_modules"] = new JsonArray(options.TargetModules.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
        };
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        var tensors = adapters.SelectMany(a => new (string, Tensor)[]
        {
            ($"{PeftPrefix}{a.Key}.lora_A.weight", a.Value.lora_A.weight!),
            ($"{PeftPrefix}{a.Key}.lora_B.weight", a.Value.lora_B.weight!),
        }).ToList();
        SafeTensors.Save(Path.Combine(folder, "adapter_model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>Adapts a model as a PEFT folder describes and loads the adapter weights (strictly).</summary>
    public static IReadOnlyDictionary<string, LoraLinear> LoadPeft(LlamaForCausalLM model, string folder)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "adapter_config.json")));
        var root = document.RootElement;
        var options = new LoraOptions
        {
            Rank = root.GetProperty("r").GetInt32(),
            Alpha = root.GetProperty("lora_alpha").GetDouble(),
            TargetModules = root.GetProperty("target_modules").EnumerateArray().Select(e => e.GetString()!).ToArray(),
        };
        var adapters = Apply(model, options);
        var expected = adapters.SelectMany(a => new (string, TorchSharp.Modules.Parameter)[]
        {
            ($"{PeftPrefix}{a.Key}.lora_A.weight", a.Value.lora_A.weight!),
            ($"{PeftPrefix}{a.Key}.lora_B.weight", a.Value.lora_B.weight!),
        }).ToList();
        var weights = Path.Combine(folder, "adapter_model.safetensors");
        var staging = Path.Combine(Path.GetTempPath(), "tao-peft-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(staging);
        try
        {
            File.Copy(weights, Path.Combine(staging, ModelCheckpoint.SingleFile));
            ModelCheckpoint.LoadWeights(staging, expected);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }

        return adapters;
    }

    /// <summary>Folds every adapter into its base weight and puts plain linear layers back: the model serves at base cost.</summary>
    public static void Merge(LlamaForCausalLM model)
    {
        foreach (var layer in model.model.layers)
        {
            foreach (var owner in new nn.Module[] { layer.self_attn, layer.mlp })
            {
                foreach (var field in owner.GetType().GetFields().Where(f => f.FieldType == typeof(nn.Module<Tensor, Tensor>)))
                {
                    if (field.GetValue(owner) is LoraLinear lora)
                    {
                        var merged = lora.MergedWeight();
                        var linear = nn.Linear(merged.shape[1], merged.shape[0], hasBias: lora.bias is not null);
                        using (no_grad())
                        {
                            linear.weight!.copy_(merged);
                            if (lora.bias is not null)
                            {
                                linear.bias!.copy_(lora.bias);
                            }
                        }

                        ModuleSurgery.Replace(owner, field.Name, linear);
                        lora.Dispose();
                        merged.Dispose();
                    }
                }
            }
        }

        foreach (var parameter in model.parameters())
        {
            parameter.requires_grad = true;
        }
    }
}
