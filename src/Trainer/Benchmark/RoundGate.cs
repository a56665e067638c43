using Tao.Trainer.Model;
using Tao.Trainer.Tasks;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Benchmark;

/// <summary>
/// The flywheel's promotion gate as the rounds curve asks it after each round: would the round's candidate be served in
/// place of the live model, judged on <paramref name="examples"/> that no round tunes on and the curve does not evaluate
/// on. The flywheel owns the rule (Tao.Flywheel.PromotionPolicy); the benchmark's command hands it in, so the curve
/// follows the same rule rather than a copy of it.
/// </summary>
public delegate Task<RoundGateDecision> RoundGate(ITaskFamily family, LlamaForCausalLM live, LlamaForCausalLM candidate, TextTokenizer tokenizer,
    IReadOnlyList<LabelledExample> examples, CancellationToken cancellationToken);

/// <summary>Whether the candidate is promoted, and the rule's reason in words.</summary>
public sealed record RoundGateDecision(bool Promote, string Reason);
