namespace Tao.Trainer.Tokenization;

/// <summary>One message of a chat prompt.</summary>
public sealed record ChatMessage(string Role, string Content);
