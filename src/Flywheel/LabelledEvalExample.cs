using Tao.Trainer.Tokenization;

namespace Tao.Flywheel;

/// <summary>A labelled evaluation example: the messages, the expected answer, and context (a "database" means compare SQL results).</summary>
public sealed record LabelledEvalExample(IReadOnlyList<ChatMessage> Messages, string Expected, IReadOnlyDictionary<string, string> Context);
