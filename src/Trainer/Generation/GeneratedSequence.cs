namespace Tao.Trainer.Generation;

/// <summary>One sampled answer: its tokens, their log-probabilities under the model, the text, and why it stopped.</summary>
public sealed record GeneratedSequence(int PromptIndex, int Sample, int[] PromptIds, int[] Tokens, float[] Logprobs, string Text, string FinishReason);
