using Tao.Trainer.Scoring;

namespace Tao.Trainer.Tasks;

/// <summary>A kind of enterprise task: its generated data, its label-free scorer, and how a gold answer is checked.</summary>
public interface ITaskFamily
{
    string Name { get; }

    /// <summary>
    /// Generates the family's data deterministically: the base-training part from <paramref name="seed"/> alone (so the
    /// base model is the same whatever the traffic), the tuning and held-out traffic from <paramref name="trafficSeed"/>.
    /// No item is in two parts.
    /// </summary>
    TaskSplit Generate(int seed, int baseTraining, int tuning, int heldOut, int trafficSeed);

    /// <summary>Prepares what scoring needs (e.g. creates and fills the database SQL runs against).</summary>
    Task PrepareAsync(CancellationToken cancellationToken);

    /// <summary>The label-free scorer TAO uses: nothing in it looks at a gold answer.</summary>
    IScorer Scorer();

    /// <summary>Whether an answer is right, judged against the gold answer (evaluation only).</summary>
    Task<bool> IsCorrectAsync(LabelledExample example, string answer, CancellationToken cancellationToken);

    /// <summary>Generation limits that fit the family's answers.</summary>
    int MaxAnswerTokens { get; }

    /// <summary>
    /// The context key whose value the family's answers are whole spans of, when its label-free scorer checks that
    /// (TAO then samples within those spans, <see cref="Generation.GenerationOptions.GroundIn"/>); null when answers are not spans.
    /// </summary>
    string? GroundIn => null;
}
