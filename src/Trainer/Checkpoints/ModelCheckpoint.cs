using System.Text.Json;
using System.Text.Json.Nodes;
using Tao.Trainer.Model;
using static TorchSharp.torch;

namespace Tao.Trainer.Checkpoints;

/// <summary>
/// A model folder as Hugging Face lays it out: config.json, and weights in model.safetensors or in shards listed by
/// model.safetensors.index.json. Loading is a strict match by name and shape in both directions.
/// </summary>
public static class ModelCheckpoint
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    public static LlamaForCausalLM Load(string folder, Device? device = null)
    {
        var config = LlamaConfig.Load(Path.Combine(folder, "config.json"));
        var model = new LlamaForCausalLM(config, device);
        try
        {
            LoadWeights(folder, model.SavedParameters().ToList());
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Copies every weight of the folder into the given parameters, refusing anything missing, extra or misshapen.</summary>
    public static void LoadWeights(string folder, IReadOnlyList<(string Name, TorchSharp.Modules.Parameter Parameter)> parameters)
    {
        var expected = parameters.ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        foreach (var file in WeightFiles(folder))
        {
            using var scope = NewDisposeScope();
            foreach (var (name, tensor) in SafeTensors.Load(file))
            {
                if (name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal))
                {
                    continue; // a buffer some exporters keep; it is recomputed from the config
                }

                if (!expected.TryGetValue(name, out var parameter))
                {
                    unexpected.Add(name);
                    continue;
                }

                if (!tensor.shape.SequenceEqual(parameter.shape))
                {
                    throw new InvalidDataException($"'{name}' has shape [{string.Join(',', tensor.shape)}] in the checkpoint but [{string.Join(',', parameter.shape)}] in the model");
                }

                using (no_grad())
                {
                    parameter.copy_(tensor);
                }

                seen.Add(name);
            }
        }

        var missing = expected.Keys.Where(n => !seen.Contains(n)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
        {
            throw new InvalidDataException(
                $"checkpoint in {folder} does not match the model: missing [{string.Join(", ", missing.Take(10))}]{(missing.Count > 10 ? " ..." : "")}, " +
                $"unexpected [{string.Join(", ", unexpected.Take(10))}]{(unexpected.Count > 10 ? " ..." : "")}");
        }
    }

    /// <summary>The weight files of a folder: the shards its index lists, or the single file.</summary>
    public static IReadOnlyList<string> WeightFiles(string folder)
    {
        var index = Path.Combine(folder, IndexFile);
        if (File.Exists(index))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(index));
            return document.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Value.GetString()!)
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(f => Path.Combine(folder, f)).ToList();
        }

        var single = Path.Combine(folder, SingleFile);
        return File.Exists(single) ? [single] : throw new FileNotFoundException($"no {SingleFile} or {IndexFile} in {folder}");
    }

    /// <summary>Writes config.json and the weights; above <paramref name="shardBytes"/> the weights are sharded with an index.</summary>
    public static void Save(LlamaForCausalLM model, string folder, long shardBytes = 2L * 1024 * 1024 * 1024)
    {
        Directory.CreateDirectory(folder);
        model.Config.Save(Path.Combine(folder, "config.json"));
        SaveTensors(folder, model.SavedParameters().Select(p => (p.Name, (Tensor)p.Parameter)).ToList(), shardBytes);
    }

    public static void SaveTensors(string folder, IReadOnlyList<(string Name, Tensor Tensor)> tensors, long shardBytes)
    {
        var total = tensors.Sum(t => t.Tensor.NumberOfElements * t.Tensor.ElementSize);
        foreach (var stale in Directory.EnumerateFiles(folder, "model*.safetensors*"))
        {
            File.Delete(stale);
        }

        if (total <= shardBytes)
        {
            SafeTensors.Save(Path.Combine(folder, SingleFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
            return;
        }

        var shards = new List<List<(string, Tensor)>> { new() };
        long size = 0;
        foreach (var tensor in tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            var bytes = tensor.Tensor.NumberOfElements * tensor.Tensor.ElementSize;
            if (size > 0 && size + bytes > shardBytes)
            {
                shards.Add([]);
                size = 0;
            }

            shards[^1].Add(tensor);
            size += bytes;
        }

        var weightMap = new JsonObject();
        for (var i = 0; i < shards.Count; i++)
        {
            var name = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            SafeTensors.Save(Path.Combine(folder, name), shards[i], new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var (tensorName, _) in shards[i])
            {
                weightMap[tensorName] = name;
            }
        }

        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = total }, ["weight_map"] = weightMap };
        File.WriteAllText(Path.Combine(folder, IndexFile), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
