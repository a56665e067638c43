
using Tao.Trainer.Generation;
namespace Tao.Trainer.Tasks;

/// <summary>An input with its gold answer: used to build base models, the labelled baseline, and held-out evaluation.</summary>
public sealed record LabelledExample(TaskPrompt Prompt, string Gold);
