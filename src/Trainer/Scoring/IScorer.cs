namespace Tao.Trainer.Scoring;

/// <summary>Scores every candidate of a group in [0, 1] without labels. All scorers share this interface and compose.</summary>
public interface IScorer
{
    string Name { get; }

    Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken);
}
