using System.Globalization;
using System.Text.Json;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Model;
using static TorchSharp.torch;

using Tao.Trainer.Generation;
namespace Tao.Trainer.Training;

/// <summary>
/// What a round keeps between iterations and across a restart: every iteration's trainable weights (on disk when the
/// round has a folder, else in memory) so the best can be restored, the metrics and sample logs, and the resumable state
/// (completed iterations, optimiser steps, the buffer, the dev answers).
/// </summary>
internal sealed class RoundFolder(LlamaForCausalLM policy, string? folder) : IDisposable
{
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Dictionary<int, Dictionary<string, Tensor>> _snapshots = [];

    /// <param name="StopReason">Why the iterations ended early, when they did (a resumed round then goes straight to its end).</param>
    public sealed record State(int CompletedIterations, int Steps, string? StopReason = null, bool Guarded = false);

    private IEnumerable<(string Name, TorchSharp.Modules.Parameter Parameter)> Trainable() =>
        policy.named_parameters().Where(p => p.parameter.requires_grad);

    private string Iteration(int iteration) => Path.Combine(folder!, "iterations", iteration.ToString(CultureInfo.InvariantCulture));

    /// <summary>Keeps the policy's weights as they are after <paramref name="iteration"/> (0 = before tuning).</summary>
    public void Keep(int iteration)
    {
        if (folder is not null)
        {
            Directory.CreateDirectory(Iteration(iteration));
            ModelCheckpoint.SaveTensors(Iteration(iteration), Trainable().Select(p => (p.Name, (Tensor)p.Parameter)).ToList(), long.MaxValue);
            return;
        }

        using var noGrad = no_grad();
        _snapshots[iteration] = Trainable().ToDictionary(p => p.Name, p =>
        {
            var clone = p.Parameter.detach().clone();
            clone.DetachFromDisposeScope();
            return clone;
        });
    }

    /// <summary>The iterations whose weights are kept.</summary>
    public IReadOnlyList<int> Kept => folder is null || !Directory.Exists(Path.Combine(folder, "iterations"))
        ? _snapshots.Keys.Order().ToList()
        : Directory.GetDirectories(Path.Combine(folder, "iterations")).Select(d => int.TryParse(Path.GetFileName(d), out var i) ? i : -1)
            .Where(i => i >= 0).Order().ToList();

    public void Restore(int iteration)
    {
        if (_snapshots.TryGetValue(iteration, out var snapshot))
        {
            using var noGrad = no_grad();
            foreach (var (name, parameter) in Trainable())
            {
                parameter.copy_(snapshot[name]);
            }
        }
        else if (folder is not null)
        {
            ModelCheckpoint.LoadWeights(Iteration(iteration), Trainable().Select(p => (p.Name, p.Parameter)).ToList());
        }
    }

    public void Log(RoundMetrics metrics) => Append("metrics.jsonl", [JsonSerializer.Serialize(metrics, Json)]);

    public void Append(string file, IEnumerable<string> lines)
    {
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
            File.AppendAllLines(Path.Combine(folder, file), lines);
        }
    }

    /// <summary>The state of an interrupted round (its last completed iteration's weights loaded), or null for a new one.</summary>
    public State? Load(ExperienceBuffer buffer, IReadOnlyDictionary<string, TaskPrompt> train, DevSplit dev)
    {
        var path = folder is null ? null : Path.Combine(folder, "state.json");
        if (path is null || !File.Exists(path))
        {
            return null;
        }

        var state = JsonSerializer.Deserialize<State>(File.ReadAllText(path), Json)!;
        if (Directory.Exists(Iteration(state.CompletedIterations)))
        {
            Restore(state.CompletedIterations);
        }

        buffer.Load(Path.Combine(folder!, "buffer.jsonl"), train);
        dev.Load(Path.Combine(folder!, "dev.jsonl"));
        return state;
    }

    public void Save(State state, ExperienceBuffer buffer, DevSplit dev)
    {
        if (folder is null)
        {
            return;
        }

        buffer.Save(Path.Combine(folder, "buffer.jsonl"));
        dev.Save(Path.Combine(folder, "dev.jsonl"));
        var temp = Path.Combine(folder, "state.json.tmp");
        File.WriteAllText(temp, JsonSerializer.Serialize(state, Json));
        File.Move(temp, Path.Combine(folder, "state.json"), overwrite: true);
    }

    /// <summary>The kept weights in folder/best: PEFT adapters when training LoRA, else a full checkpoint.</summary>
    public void SaveBest(IReadOnlyDictionary<string, Lora.LoraLinear>? adapters, Lora.LoraOptions? lora)
    {
        if (folder is null)
        {
            return;
        }

        var best = Path.Combine(folder, "best");
        if (adapters is not null && lora is not null)
        {
            Lora.LoraAdapters.ExportPeft(adapters, lora, best, "base");
        }
        else
        {
            ModelCheckpoint.Save(policy, best);
        }
    }

    public void Dispose()
    {
        foreach (var snapshot in _snapshots.Values)
        {
            ModelCopies.Dispose(snapshot);
        }
    }
}
