using System.Diagnostics;
using System.Text.Json;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Lora;
using Tao.Trainer.Model;
using Tao.Trainer.Training;

using Tao.Trainer.Generation;
namespace Tao.Flywheel;

/// <summary>
/// The contract with a trainer outside this process (a bigger machine, TRL on a GPU node, a Kubernetes Job): the round
/// samples and scores its candidates here and writes them as files; the command trains on them and leaves a PEFT
/// adapter or a full checkpoint; the round takes it back, and evaluation and promotion proceed as for a round trained
/// in process. Nothing else crosses the boundary, so any trainer that reads JSONL and writes safetensors fits.
/// </summary>
internal static class ExternalTrainer
{
    public static async Task<(LlamaForCausalLM? Checkpoint, IReadOnlyDictionary<string, LoraLinear>? Adapters, Dictionary<string, double> Numbers)> RunAsync(
        string command, double timeoutMinutes, TaoRound round, LlamaForCausalLM policy, IReadOnlyList<TaskPrompt> prompts,
        IReadOnlyDictionary<string, string> labelled, string roundId, string baseModel, string folder, CancellationToken cancellationToken)
    {
        var input = Path.Combine(folder, "in");
        var output = Path.Combine(folder, "out");
        foreach (var path in new[] { input, output })
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }

            Directory.CreateDirectory(path);
        }

        var groups = await round.SampleAndScoreOnceAsync(prompts, cancellationToken);
        var counts = CandidateSetWriter.Write(input, groups, round.IsConfident, labelled);
        await File.WriteAllTextAsync(Path.Combine(input, "round.json"), JsonSerializer.Serialize(new
        {
            round_id = roundId, base_model = baseModel, groups = counts.Groups, sft_examples = counts.SftExamples, pairs = counts.Pairs,
            labelled = counts.Labelled, output = "a PEFT adapter (adapter_config.json, adapter_model.safetensors) or a full checkpoint (config.json, model*.safetensors)",
        }, new JsonSerializerOptions { WriteIndented = true }), cancellationToken);

        var clock = Stopwatch.StartNew();
        var log = Path.Combine(folder, "external.log");
        var exit = await RunCommandAsync(command, folder, log, TimeSpan.FromMinutes(timeoutMinutes), new Dictionary<string, string>
        {
            ["TAO_ROUND_INPUT"] = input, ["TAO_ROUND_OUTPUT"] = output, ["TAO_BASE_MODEL"] = baseModel, ["TAO_ROUND_ID"] = roundId,
        }, cancellationToken);
        if (exit != 0)
        {
            throw new InvalidOperationException($"the external trainer exited with code {exit}; its output is in {log}");
        }

        var numbers = new Dictionary<string, double>
        {
            ["round.external"] = 1, ["external.groups"] = counts.Groups, ["external.sft_examples"] = counts.SftExamples,
            ["external.pairs"] = counts.Pairs, ["external.labelled"] = counts.Labelled, ["external.seconds"] = clock.Elapsed.TotalSeconds,
        };
        if (File.Exists(Path.Combine(output, "adapter_config.json")))
        {
            numbers["external.adapter"] = 1;
            return (null, LoraAdapters.LoadPeft(policy, output), numbers);
        }

        if (File.Exists(Path.Combine(output, "config.json")) && ModelCheckpoint.WeightFiles(output).Count > 0)
        {
            numbers["external.adapter"] = 0;
            return (ModelCheckpoint.Load(output), null, numbers);
        }

        throw new InvalidOperationException($"the external trainer left neither a PEFT adapter nor a checkpoint in {output}");
    }

    private static async Task<int> RunCommandAsync(string command, string workingDirectory, string log, TimeSpan timeout,
        IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/bin/sh") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start /bin/sh");
        await using var writer = new StreamWriter(log);
        var lines = new Lock();
        var closed = false;
        void Write(string? line)
        {
            if (line is not null)
            {
                lock (lines)
                {
                    if (!closed)
                    {
                        writer.WriteLine(line);
                    }
                }
            }
        }

        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            // Wait for the readers to drain before the log closes (a callback writing to a disposed writer would throw
            // on a thread of its own and end the flywheel).
            using (var drained = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                try
                {
                    await process.WaitForExitAsync(drained.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }

            lock (lines)
            {
                closed = true;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new TimeoutException($"the external trainer ran longer than {timeout.TotalMinutes:0} minutes and was stopped; see {log}");
        }

        process.WaitForExit(); // drains the output readers
        lock (lines)
        {
            closed = true;
        }

        return process.ExitCode;
    }
}
