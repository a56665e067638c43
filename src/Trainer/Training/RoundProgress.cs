namespace Tao.Trainer.Training;

/// <summary>Where a round is, for progress bars: the stage, the iteration, and how far through the stage.</summary>
public sealed record RoundProgress(string Stage, int Iteration, int Iterations, int Done, int Total);
