namespace Tao.Trainer.Generation;

/// <summary>
/// A captured input to tune on: the chat messages of the request (as the gateway saw them), and facts a verifier may
/// use (the database an SQL answer runs on, the document an extracted answer must come from).
/// </summary>
public sealed record TaskPrompt(string Id, IReadOnlyList<Tokenization.ChatMessage> Messages, IReadOnlyDictionary<string, string>? Context = null)
{
    /// <summary>The prompt as one text (what scorers and judges read).</summary>
    public string Text => string.Join("\n", Messages.Select(m => m.Content));
}
