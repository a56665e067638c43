using Tao.Trainer.Scoring;

namespace Tao.Flywheel;

/// <summary>Multi-task rounds: each group is scored by the scorer of its task (the "task" entry of its context).</summary>
internal sealed class TaskRoutedScorer(IReadOnlyDictionary<string, IScorer> byTask) : IScorer
{
    public const string TaskKey = "task";

    public string Name => string.Join(" | ", byTask.Select(t => $"{t.Key}: {t.Value.Name}"));

    public Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken) =>
        byTask.TryGetValue(group.ContextValue(TaskKey) ?? string.Empty, out var scorer)
            ? scorer.ScoreAsync(group, cancellationToken)
            : throw new InvalidOperationException($"no scorer for task '{group.ContextValue(TaskKey)}'");
}
