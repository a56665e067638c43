using Tao.Trainer.Generation;

namespace Tao.Trainer.Training;

/// <summary>
/// One iteration in numbers: rewards, agreement, how many groups taught, entropy and length of the samples, the buffer;
/// and, when the caller gives an oracle (diagnostics with labels, never read by training), the precision of the
/// selected targets, the pick's accuracy and pass@N.
/// </summary>
internal static class IterationReport
{
    public static async Task<RoundMetrics> SummariseAsync(int iteration, List<ScoredGroup> groups, ExperienceBuffer buffer, Func<ScoredGroup, bool> confident,
        Func<ScoredGroup, bool> teaches, double minBestScore, Func<TaskPrompt, IReadOnlyList<string>, CancellationToken, Task<bool[]>>? oracle, double elapsed,
        CancellationToken cancellationToken)
    {
        var scores = groups.SelectMany(g => g.Scores).ToList();
        var sampledTokens = groups.SelectMany(g => g.Candidates).Where(c => c.Logprobs is { Length: > 0 }).ToList();
        double? precision = null, bufferPrecision = null, pick = null, pass = null;
        if (oracle is not null)
        {
            int picked = 0, passed = 0, targets = 0, rightTargets = 0;
            foreach (var group in groups)
            {
                var right = await oracle(group.Prompt, group.Candidates.Select(c => c.Text).ToList(), cancellationToken);
                picked += right[Array.IndexOf(group.Scores, group.Best)] ? 1 : 0;
                passed += right.Any(r => r) ? 1 : 0;
                if (confident(group))
                {
                    targets++;
                    rightTargets += (await oracle(group.Prompt, [group.Top[0].Text], cancellationToken))[0] ? 1 : 0;
                }
            }

            var entries = buffer.Entries.ToList();
            var bufferRight = 0;
            foreach (var entry in entries)
            {
                bufferRight += (await oracle(entry.Prompt, [entry.Targets[0].Text], cancellationToken))[0] ? 1 : 0;
            }

            (pick, pass) = ((double)picked / groups.Count, (double)passed / groups.Count);
            precision = targets == 0 ? null : (double)rightTargets / targets;
            bufferPrecision = entries.Count == 0 ? null : (double)bufferRight / entries.Count;
        }

        return new RoundMetrics
        {
            Event = "iteration",
            Iteration = iteration,
            RewardMean = scores.Average(),
            RewardStd = Std(scores),
            Agreement = groups.Average(g => g.TopShare),
            Groups = groups.Count,
            SkippedGroups = groups.Count(g => !teaches(g)),
            LabelFreePass = groups.Average(g => g.Best >= minBestScore ? 1.0 : 0.0),
            Entropy = sampledTokens.Count == 0 ? null : sampledTokens.Average(c => -c.Logprobs!.Average()),
            AnswerTokens = groups.SelectMany(g => g.Candidates).Average(c => c.Tokens?.Length ?? c.Text.Length / 4.0),
            BufferSize = buffer.Count,
            TargetPrecision = precision,
            BufferPrecision = bufferPrecision,
            PickAccuracy = pick,
            PassAtN = pass,
            ElapsedSeconds = elapsed,
        };
    }

    private static double Std(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, values.Count));
    }
}
