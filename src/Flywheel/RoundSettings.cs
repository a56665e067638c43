namespace Tao.Flywheel;

public sealed class RoundSettings
{
    /// <summary>BestOfN (expert iteration), Grpo, DrGrpo or Dpo. Default: BestOfN.</summary>
    public string Objective { get; set; } = "BestOfN";

    /// <summary>Candidates per input. Default: 8.</summary>
    public int Candidates { get; set; } = 8;

    /// <summary>
    /// Most generate → score → train iterations; expert iteration stops sooner once its buffer of targets stops growing
    /// (<see cref="MinCoverageGain"/>). The best of the iterations and polish epochs is kept by a label-free dev score.
    /// Default: 16.
    /// </summary>
    public int Iterations { get; set; } = 16;

    /// <summary>Stop once two iterations in a row gave fewer than this share of the inputs a target; 0 runs every iteration. Default: 0.01.</summary>
    public double MinCoverageGain { get; set; } = 0.01;

    /// <summary>Most epochs of the polish (the round's starting weights fine-tuned on the final buffer); 0 turns it off. Default: 12.</summary>
    public int PolishEpochs { get; set; } = 12;

    /// <summary>
    /// Most polishes: after each, the polished weights sample the inputs still without a target, and a gain of at least
    /// MinCoverageGain polishes again. Default: 1 (see TaoRoundOptions).
    /// </summary>
    public int PolishPasses { get; set; } = 1;

    /// <summary>
    /// The polish's learning rates as multiples of <see cref="LearningRate"/>, chosen between on the label-free dev slice
    /// (set 1 among them to polish at the configured rate itself). Default: none set, TaoRoundOptions' 3 and 10.
    /// </summary>
    public double[]? PolishRateFactors { get; set; }

    /// <summary>Each later iteration samples the inputs still without a target this much hotter, up to MaxTemperature; 0 keeps one temperature. Default: 0.1.</summary>
    public double TemperatureStep { get; set; } = 0.1;

    /// <summary>The highest temperature TemperatureStep reaches. Default: 1.5.</summary>
    public double MaxTemperature { get; set; } = 1.5;

    /// <summary>Peak learning rate (warm-up + cosine). Default: 1e-3 (the project's small models; lower it for large ones).</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Sequences per optimiser step. Default: 32.</summary>
    public int BatchSize { get; set; } = 32;

    /// <summary>Passes over the buffer of confident targets per iteration. Default: 1.</summary>
    public int EpochsPerIteration { get; set; } = 1;

    /// <summary>Groups whose best candidate scores below this teach nothing. Default: 0.5.</summary>
    public double MinBestScore { get; set; } = 0.5;

    /// <summary>Confidence filter: the pick's share among the candidates that passed the verifiers. Default: 0.5.</summary>
    public double MinTopShare { get; set; } = 0.5;

    /// <summary>Confidence filter: short of a perfect score, the pick sampled at least this many times (see TaoRoundOptions). Default: 1 (off).</summary>
    public int MinTopCount { get; set; } = 1;

    /// <summary>Sampling temperature of the candidates. Default: 1.</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Most tokens per answer. Default: 48.</summary>
    public int MaxTokens { get; set; } = 48;

    /// <summary>
    /// For extraction tasks whose scorer requires answers to be spans of a document: candidates are sampled only among
    /// whole spans of the input's context value under this key (the prompt's own text when the input has none, as the
    /// substring scorer reads it). Sampling in process only; a CandidateUrl server samples freely. Default: none.
    /// </summary>
    public string? GroundIn { get; set; }

    /// <summary>
    /// The round's random seed (sampling, shuffling, the dev slice). Default: none set, each round draws its own from its
    /// start time; set it to rerun a round's draws (on the same inputs and instruction set it repeats the round; which
    /// inputs a round tunes on depends on what was captured by its threshold).
    /// </summary>
    public ulong? Seed { get; set; }

    private static readonly Tao.Trainer.Training.TaoRoundOptions Defaults = new();

    /// <summary>The TAO round these settings describe (everything not set here keeps TaoRoundOptions' default).</summary>
    public Tao.Trainer.Training.TaoRoundOptions ToRoundOptions(ulong seed) => new()
    {
        Objective = Enum.Parse<Tao.Trainer.Training.TaoObjective>(Objective, ignoreCase: true),
        Candidates = Candidates,
        Iterations = Iterations,
        MinCoverageGain = MinCoverageGain,
        PolishEpochs = PolishEpochs,
        PolishPasses = PolishPasses,
        PolishRateFactors = PolishRateFactors is { Length: > 0 } factors ? factors : Defaults.PolishRateFactors,
        TemperatureStep = TemperatureStep,
        MaxTemperature = MaxTemperature,
        LearningRate = LearningRate,
        BatchSize = BatchSize,
        EpochsPerIteration = EpochsPerIteration,
        MinBestScore = MinBestScore,
        MinTopShare = MinTopShare,
        MinTopCount = MinTopCount,
        Lora = LoraRank > 0 ? new Tao.Trainer.Lora.LoraOptions { Rank = LoraRank, Alpha = 2 * LoraRank } : null,
        Generation = new Tao.Trainer.Generation.GenerationOptions { Temperature = Temperature, MaxNewTokens = MaxTokens, BatchSize = 512, GroundIn = GroundIn },
        Seed = seed,
    };

    /// <summary>
    /// Sample candidates from an OpenAI-compatible server (e.g. vLLM serving the live version) instead of in-process.
    /// Such candidates come from the live version, not the policy being tuned, so this suits BestOfN and DPO; GRPO needs
    /// on-policy samples and keeps sampling locally. Default: none (sample in-process).
    /// </summary>
    public string? CandidateUrl { get; set; }

    /// <summary>Model name to ask the candidate server for. Default: the live version's id.</summary>
    public string? CandidateModel { get; set; }

    public string? CandidateApiKey { get; set; }

    /// <summary>Train LoRA adapters of this rank (needed for the vLLM target); 0 trains all weights. Default: 0.</summary>
    public int LoraRank { get; set; }

    /// <summary>
    /// Hand training to an external job instead of the in-process round: the round samples and scores the candidates,
    /// writes them (candidates.jsonl, sft.jsonl, preferences.jsonl, round.json) to $TAO_ROUND_INPUT, runs this command
    /// with /bin/sh (environment: TAO_ROUND_INPUT, TAO_ROUND_OUTPUT, TAO_BASE_MODEL, TAO_ROUND_ID), and takes back from
    /// $TAO_ROUND_OUTPUT a PEFT adapter (adapter_config.json + adapter_model.safetensors) or a full checkpoint
    /// (config.json + model*.safetensors) of the same architecture. Evaluation and promotion proceed as for an
    /// in-process round. For a Kubernetes Job, the command submits deploy/k8s/external-trainer-job.yaml and waits.
    /// Default: none (train in process).
    /// </summary>
    public string? ExternalCommand { get; set; }

    /// <summary>How long the external command may run, in minutes. Default: 240.</summary>
    public double ExternalTimeoutMinutes { get; set; } = 240;
}
