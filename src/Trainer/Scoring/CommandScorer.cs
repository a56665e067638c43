using System.Diagnostics;
using System.Text.Json;

namespace Tao.Trainer.Scoring;

/// <summary>
/// User code as a scorer, in any language: the command receives {"prompt","candidates","context"} as JSON on standard
/// input and prints {"scores": [..]} (one number in [0, 1] per candidate). Non-zero exit or bad output scores 0.
/// </summary>
internal sealed class CommandScorer(string command, IReadOnlyList<string> arguments, TimeSpan? timeout = null) : IScorer
{
    public string Name => $"command({Path.GetFileName(command)})";

    public async Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(command) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {command}");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            try
            {
                await process.StandardInput.WriteAsync(JsonSerializer.Serialize(new { prompt = group.Prompt, candidates = group.Candidates, context = group.Context }).AsMemory(), deadline.Token);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The command exited without reading its input (broken pipe); its exit code decides below.
            }

            var output = await process.StandardOutput.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            if (process.ExitCode != 0)
            {
                return new double[group.Candidates.Count];
            }

            using var document = JsonDocument.Parse(output);
            var scores = document.RootElement.GetProperty("scores").EnumerateArray().Select(e => Math.Clamp(e.GetDouble(), 0, 1)).ToArray();
            return scores.Length == group.Candidates.Count ? scores : new double[group.Candidates.Count];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            return new double[group.Candidates.Count];
        }
    }
}
