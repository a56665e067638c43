namespace Tao.Capture;

/// <summary>One turn of a conversation as the prompt sees it: who spoke, and the text (non-text parts as "[kind]").</summary>
public sealed record PromptTurn(string Role, string Content);
