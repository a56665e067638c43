using Tao.Trainer.Generation;
using Tao.Trainer.Lora;

namespace Tao.Trainer.Training;

/// <summary>Settings of one TAO round: exploration (candidates), the objective and its schedule, selection, and the guards.</summary>
public sealed record TaoRoundOptions
{
    /// <summary>Expert iteration (best-of-N fine-tuning on a growing buffer) by default; GRPO, Dr. GRPO and DPO selectable.</summary>
    public TaoObjective Objective { get; init; } = TaoObjective.BestOfN;

    /// <summary>Candidates sampled per prompt: the tuning compute. Default: 8.</summary>
    public int Candidates { get; init; } = 8;

    public GenerationOptions Generation { get; init; } = new() { Temperature = 1.0, TopP = 1.0, MaxNewTokens = 64, BatchSize = 512 };

    /// <summary>
    /// Most generate → score → train cycles; expert iteration stops sooner when its buffer stops growing (see
    /// <see cref="MinCoverageGain"/>). Default: 16.
    /// </summary>
    public int Iterations { get; init; } = 16;

    /// <summary>
    /// Expert iteration stops once <see cref="CoveragePatience"/> iterations in a row added targets for fewer than this
    /// share of the training inputs (at least one input): the policy no longer finds answers for new inputs, so more
    /// iterations only repeat the same targets. Label-free. 0 runs every iteration. Default: 0.01.
    /// </summary>
    public double MinCoverageGain { get; init; } = 0.01;

    /// <summary>Iterations in a row below <see cref="MinCoverageGain"/> before stopping. Default: 2.</summary>
    public int CoveragePatience { get; init; } = 2;

    /// <summary>
    /// Expert iteration: after the first iteration, sample only the inputs that have no confident target yet, so the
    /// candidates go where the policy has not found an answer (inputs with a target keep it). True re-samples every
    /// input every iteration and refreshes its target. Default: false.
    /// </summary>
    public bool ResampleCovered { get; init; }

    /// <summary>
    /// When later iterations sample only the inputs without a target, the first iteration's budget (Candidates × inputs)
    /// is spread over them, up to this many candidates each: the hard inputs get more tries for the same compute. At most
    /// <see cref="Candidates"/> turns the spreading off. Default: 32.
    /// </summary>
    public int MaxCandidates { get; init; } = 32;

    /// <summary>
    /// Expert iteration's last step: fine-tune the round's starting weights on the final buffer to convergence, as the
    /// labelled baseline is trained on gold answers — up to this many epochs at <see cref="LearningRate"/> on one warm-up
    /// + cosine schedule, the last epoch competing with the iterations for the kept weights on the label-free dev slice
    /// (<see cref="KeptWeights.Finals"/>; earlier epochs are scored only for <see cref="PolishPatience"/>). Targets added
    /// in late iterations were otherwise trained on only once or twice. 0 turns it off. Default: 12 (the labelled baseline's cap). Eight (both caps) cut the
    /// full benchmark from ~20 to 17.7 minutes and cost TAO 4.4 points on docqa and 2.3 on units while the labelled
    /// baseline lost nothing (docqa 63.8 %, TAO 61.1 %: docqa's ~850 targets were still being learnt at epoch 8).
    /// </summary>
    public int PolishEpochs { get; init; } = 12;

    /// <summary>
    /// A polish stops after this many epochs in a row without a better label-free dev score; 0 runs its schedule to the
    /// end (its last epoch competes for the kept weights). Stopping after three cut sql's polish at epoch 4 of 12 on two
    /// seeds, mid-schedule at a high rate, on a 45-input dev slice whose noise is larger than the epochs' differences;
    /// running to the end kept epoch 11 and took seed 2 from 77.3 % to 83.8 % (FT 82.5 %). Default: 0.
    /// </summary>
    public int PolishPatience { get; init; }

    /// <summary>
    /// Exploration for the inputs without a target: each later iteration that samples them again raises the sampling
    /// temperature by this much (the inputs it samples all failed at the previous temperature), up to
    /// <see cref="MaxTemperature"/>. The verifiers gate what is kept, so hotter samples widen the search without
    /// loosening what counts as right. 0 keeps one temperature. Default: 0.1.
    /// </summary>
    public double TemperatureStep { get; init; } = 0.1;

    /// <summary>The highest sampling temperature <see cref="TemperatureStep"/> reaches. Default: 1.5.</summary>
    public double MaxTemperature { get; init; } = 1.5;

    /// <summary>
    /// ReST-EM's outer loop, after the polish: the polished weights (stronger than any iteration's) sample the training
    /// inputs still without a target, with the spread budget; when that adds targets for at least
    /// <see cref="MinCoverageGain"/> of the inputs, the starting weights are polished again on the grown buffer. This
    /// many polishes at most (1: polish once). Only when the round samples from its own policy. On the benchmark a second
    /// polish ran in 13 of the rounds reported on 2026-12-02/03 and was kept once (its dev score beat the first's), each
    /// costing a whole polish (150 s of docqa seed 1's 655), so one polish is the default. Default: 1.
    /// </summary>
    public int PolishPasses { get; init; } = 1;

    /// <summary>
    /// The first polish tries the round's <see cref="LearningRate"/> times each of these, the label-free dev slice choosing
    /// between them as the labelled baseline chooses its rate on its dev slice (3e-3 and 1e-2 at the default rate: two
    /// rates of the baseline's grid); later polishes reuse the chosen rate. On docqa (seed 1, targets from grounded sampling) 1e-2 polished to 61.3 % where 1e-3 reached 55.0 %:
    /// the labelled baseline's 63.3 % had come partly from a rate TAO never tried. 1e-3 was tried and never kept in the
    /// nine rounds of the full run on a02dfe3 (nor chosen by the labelled baseline on any family), for a third of the
    /// polish's time, so it is not in the default. Default: 3, 10.
    /// </summary>
    public double[] PolishRateFactors { get; init; } = [3, 10];

    /// <summary>
    /// With several polish rates and this above 0, each trains this many epochs and only the rate whose dev score leads
    /// goes on to <see cref="PolishEpochs"/> (successive halving). A race cut short compares the rates mid-schedule,
    /// where the higher ones are still at their peak and score low: after three epochs 1e-2 trailed 1e-3 on docqa (dev
    /// 0.395 against 0.490) and was dropped, though run to the end it polishes 6 points better. 0: every rate runs its
    /// schedule to the end, as the labelled baseline's grid does. Default: 0.
    /// </summary>
    public int PolishRaceEpochs { get; init; }

    /// <summary>
    /// When above 0, later polishes (see <see cref="PolishPasses"/>) continue from the previous polish's best weights on
    /// the grown buffer for at most this many epochs (fresh warm-up + cosine at <see cref="RepolishRateFactor"/> × the
    /// chosen rate) instead of starting again from the round's starting weights for <see cref="PolishEpochs"/>. Measured
    /// on the docqa benchmark (3 seeds): it saved little (seed 2: 253 s against 254) and cost 2–3 points (62.5 / 54.0
    /// against 64.7 / 57.0), so it is off. Default: 0 (start again).
    /// </summary>
    public int RepolishEpochs { get; init; }

    /// <summary>
    /// The rate of a later polish that continues from the best weights (<see cref="RepolishEpochs"/>), as a share of the
    /// chosen rate: those weights are converged, and the chosen rate's peak pulled them off (docqa seed 1: 58.8 % at the
    /// full rate, 62.5 % at 0.3×). Default: 0.3.
    /// </summary>
    public double RepolishRateFactor { get; init; } = 0.3;

    /// <summary>Sequences per optimiser step of the polish (the labelled baseline's batch size). Default: 16.</summary>
    public int PolishBatchSize { get; init; } = 16;

    /// <summary>Prompts sampled per iteration (0 = all). Default: 0.</summary>
    public int PromptsPerIteration { get; init; }

    /// <summary>Passes over the training targets (the buffer, or DPO's pairs) per iteration; GRPO passes over the prompts once. Default: 1.</summary>
    public int EpochsPerIteration { get; init; } = 1;

    /// <summary>Sequences per optimiser step (GRPO: whole groups, so BatchSize / Candidates prompts). Default: 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Peak learning rate of the round's warm-up + cosine schedule (set per model size; 1e-3 suits the project's small models). Default: 1e-3.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Share of the round's planned steps spent warming up. Default: 0.05.</summary>
    public double WarmupFraction { get; init; } = 0.05;

    /// <summary>Where the cosine decay ends, as a share of the peak. Default: 0.1.</summary>
    public double LearningRateFloor { get; init; } = 0.1;

    /// <summary>PPO-style ratio clip (GRPO takes one on-policy step per sample, where it never binds). Default: 0.2.</summary>
    public double Clip { get; init; } = 0.2;

    /// <summary>KL penalty to the starting model (k3 estimator) for GRPO; 0 turns it off. Default: 0.04.</summary>
    public double KlBeta { get; init; } = 0.04;

    /// <summary>DPO's beta. Default: 0.1.</summary>
    public double DpoBeta { get; init; } = 0.1;

    /// <summary>Train LoRA adapters instead of all weights. Default: null (full fine-tuning).</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>Groups whose best candidate scores below this teach nothing (rejection sampling's threshold). Default: 0.5.</summary>
    public double MinBestScore { get; init; } = 0.5;

    /// <summary>
    /// Confidence filter: a group's pick is trusted when at least this share of its candidates share the best score
    /// (an absolute majority by default), or when the best candidate passed every check (a perfect score). Chosen
    /// without labels: a winner that most samples agree on. 0 turns the filter off. Default: 0.5.
    /// </summary>
    public double MinTopShare { get; init; } = 0.5;

    /// <summary>
    /// Confidence filter, second half: short of a perfect score, the pick must have been sampled at least this many
    /// times. When the gates reject all other samples the pick's share is 1 however few found it, and with a verifier
    /// that admits several answers (a document holds more than one date) a lone survivor is a guess: in the docqa
    /// benchmark the hot late iterations kept such picks at 16–57 % precision against 96–100 % early. An exact verifier
    /// gives a perfect score and is not affected. Measured at 2 (docqa, seed 1, 1000 inputs): target precision 92–100 %
    /// in every iteration, but targets for 67 % of the inputs instead of 80 % and held-out 53.8 % instead of 60.3 % —
    /// the lone picks, wrong half the time, still taught more than they cost — so it is off by default. 1 turns it off
    /// (and a MinTopShare of 0 the whole filter). Default: 1.
    /// </summary>
    public int MinTopCount { get; init; } = 1;

    /// <summary>Distinct best candidates kept per prompt in the buffer (more fit the tuning inputs at the held-out's expense). Default: 1.</summary>
    public int TargetsPerPrompt { get; init; } = 1;

    /// <summary>Share of the inputs set aside (never trained on) to choose the best iteration without labels. Default: 0.15.</summary>
    public double DevFraction { get; init; } = 0.15;

    /// <summary>Bounds of the dev slice; with fewer than 5x the minimum inputs there is none and the last iteration is kept. Default: 8 and 128.</summary>
    public int MinDevPrompts { get; init; } = 8;
    public int MaxDevPrompts { get; init; } = 128;

    /// <summary>Samples per dev input and iteration added to the shared pool the dev answers are scored against. Default: 4.</summary>
    public int DevSamples { get; init; } = 4;

    /// <summary>Stop when sampled-token entropy falls below this share of the first iteration's without a better dev score. Default: 0.1.</summary>
    public double EntropyFloor { get; init; } = 0.1;

    /// <summary>Stop when answers grow beyond this multiple of the first iteration's mean length. Default: 2.</summary>
    public double LengthCeiling { get; init; } = 2.0;

    /// <summary>Evaluations during which reward may rise while the dev (or held-out) score falls before stopping. Default: 2.</summary>
    public int GuardPatience { get; init; } = 2;

    /// <summary>Dev (or held-out) drop below the best that counts as falling; with a dev slice of n inputs at least 1/√n. Default: 0.02.</summary>
    public double GuardTolerance { get; init; } = 0.02;

    public ulong Seed { get; init; } = 1;
}
