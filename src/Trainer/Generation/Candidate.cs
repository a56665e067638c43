namespace Tao.Trainer.Generation;

/// <summary>
/// A candidate answer. Tokens (and their log-probabilities under the sampling model) are kept when it was sampled
/// locally, so on-policy training scores exactly what was sampled (targets to imitate are encoded afresh, as gold
/// answers are: see TaoRound.AnswerTokens); Stopped says it ended on its own (end of sequence or a stop
/// string) rather than at the token limit.
/// </summary>
public sealed record Candidate(string Text, int[]? Tokens = null, bool Stopped = true, float[]? Logprobs = null);
