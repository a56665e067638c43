using Tao.Trainer.Tokenization;

namespace Tao.Flywheel;

/// <summary>A distinct captured input (latest call per normalised prompt), as the flywheel tunes on it.</summary>
public sealed record CapturedInput(Guid RequestId, ulong PromptHash, string Task, DateTime StartedAt, IReadOnlyList<ChatMessage> Messages);
