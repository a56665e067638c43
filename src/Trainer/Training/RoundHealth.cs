namespace Tao.Trainer.Training;

/// <summary>
/// Watches the failure modes of label-free RL between iterations: entropy collapse (the policy stops exploring and
/// agreement-based rewards then reward agreeing with itself), answer-length blow-up, and reward that keeps rising while
/// the label-free dev score (or the caller's held-out score) falls (reward hacking). Low entropy alone is not a failure
/// — a policy that has learned what a verifier accepts should be sure of it — so collapse and blow-up stop the round only
/// in an iteration that did not also improve the dev score. Says why to stop, or null.
/// </summary>
/// <param name="noise">The score's own noise (e.g. 1/√n for a dev slice of n inputs): a drop counts as falling only
/// beyond it, so a small dev slice does not stop a round by chance.</param>
internal sealed class RoundHealth(TaoRoundOptions options, double noise = 0)
{
    private readonly double _tolerance = Math.Max(options.GuardTolerance, noise);

    /// <summary>How far below the best a score must be to count as lower: the configured tolerance or the score's noise.</summary>
    public double Tolerance => _tolerance;
    private double? _entropy;
    private double? _length;
    private int _hacking;
    private double _lastReward = double.NaN;

    /// <param name="score">This iteration's dev (or held-out) score, when measured.</param>
    /// <param name="bestBefore">The best such score of the earlier iterations (the starting model included).</param>
    public string? Check(int iteration, double entropy, double answerTokens, double reward, double? score, double? bestBefore)
    {
        _entropy ??= entropy;
        _length ??= answerTokens;
        var improved = score is not null && bestBefore is not null && score > bestBefore;
        if (!improved && _entropy > 0 && entropy < options.EntropyFloor * _entropy)
        {
            return $"entropy collapsed at iteration {iteration}: {entropy:0.000} nats per token, below {options.EntropyFloor:0.##} of the first iteration's {_entropy:0.000}, without a better dev score";
        }

        if (!improved && _length > 0 && answerTokens > options.LengthCeiling * _length)
        {
            return $"answers grew at iteration {iteration}: {answerTokens:0.0} tokens, above {options.LengthCeiling:0.##}x the first iteration's {_length:0.0}, without a better dev score";
        }

        var falling = score is not null && bestBefore is not null && score < bestBefore - _tolerance;
        _hacking = falling && !double.IsNaN(_lastReward) && reward > _lastReward ? _hacking + 1 : falling ? _hacking : 0;
        _lastReward = reward;
        return _hacking >= options.GuardPatience
            ? $"reward rose while the held-out score fell for {_hacking} evaluations (iteration {iteration})"
            : null;
    }
}
