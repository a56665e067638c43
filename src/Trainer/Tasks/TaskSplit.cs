namespace Tao.Trainer.Tasks;

/// <summary>
/// A task family's data, split three ways with no input in two parts: what the base model is trained on, the inputs
/// tuning may use (TAO sees only their prompts; the labelled baseline also their gold answers), and the held-out
/// evaluation set that no tuning ever sees.
/// </summary>
public sealed record TaskSplit(IReadOnlyList<LabelledExample> BaseTraining, IReadOnlyList<LabelledExample> Tuning, IReadOnlyList<LabelledExample> HeldOut);
