namespace Tao.Flywheel;

/// <summary>The flywheel: which served models it tunes, on which tasks, and where it promotes them.</summary>
public sealed class FlywheelOptions
{
    public const string Section = "Tao:Flywheel";

    /// <summary>Seconds between checks for new inputs. Default: 10.</summary>
    public int PollSeconds { get; set; } = 10;

    /// <summary>Gateway admin API, where promotions move aliases. Default: http://127.0.0.1:8080.</summary>
    public string GatewayUrl { get; set; } = "http://127.0.0.1:8080";

    public string? GatewayAdminKey { get; set; }

    /// <summary>Model registry folder. Default: ".tao/data/registry".</summary>
    public string RegistryPath { get; set; } = Path.Combine(".tao", "data", "registry");

    /// <summary>Working folder of rounds (resumable state, checkpoints). Default: ".tao/data/flywheel".</summary>
    public string WorkPath { get; set; } = Path.Combine(".tao", "data", "flywheel");

    /// <summary>Address of the flywheel's status API. Default: http://127.0.0.1:8090.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8090";

    /// <summary>Key for the status API's write operations (rollback, run now). Default: the gateway admin key.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Consume the captures topic and write ClickHouse here (Helicone-style), so gateways need no ClickHouse credentials. Default: off.</summary>
    public KafkaIngestOptions KafkaIngest { get; set; } = new();

    /// <summary>How several flywheel instances agree on the one that runs rounds. Default: none (this instance leads).</summary>
    public LeaderOptions Leader { get; set; } = new();

    /// <summary>Served models to tune, by name (each is one gateway alias).</summary>
    public Dictionary<string, ModelGroupOptions> Groups { get; set; } = new(StringComparer.Ordinal);
}

public sealed class KafkaIngestOptions
{
    public bool Enabled { get; set; }
    public string BootstrapServers { get; set; } = string.Empty;
    public string Topic { get; set; } = "tao.captures";
    public string GroupId { get; set; } = "tao-flywheel";
}

/// <summary>Leader election among flywheel replicas (see <see cref="KafkaLeadership"/>).</summary>
public sealed class LeaderOptions
{
    /// <summary>None (single instance) or Kafka (group membership on a one-partition topic). Default: None.</summary>
    public string Kind { get; set; } = "None";

    public string BootstrapServers { get; set; } = string.Empty;
    public string Topic { get; set; } = "tao.flywheel.leader";
    public string GroupId { get; set; } = "tao-flywheel-leader";

    /// <summary>How long a silent leader keeps the role, in milliseconds. Default: 10000.</summary>
    public int SessionTimeoutMs { get; set; } = 10_000;
}

/// <summary>One served model (behind one alias) and the tasks it serves; a round tunes it on all of them at once.</summary>
public sealed class ModelGroupOptions
{
    /// <summary>The gateway alias clients call; promotion moves it. Required.</summary>
    public string Alias { get; set; } = string.Empty;

    /// <summary>Version id of the model first served behind the alias, and its folder; registered on start when missing.</summary>
    public string BaseVersion { get; set; } = string.Empty;

    public string? BaseModel { get; set; }

    /// <summary>Tasks by task tag, each with its scorer and optional labelled evaluation set.</summary>
    public Dictionary<string, TaskOptions> Tasks { get; set; } = new(StringComparer.Ordinal);

    /// <summary>New distinct inputs (by normalised prompt hash, all tasks together) that trigger a round. Default: 200.</summary>
    public int Threshold { get; set; } = 200;

    /// <summary>Least time between two rounds, in minutes. Default: 10.</summary>
    public double MinIntervalMinutes { get; set; } = 10;

    /// <summary>Most new inputs a round reads. Default: 600.</summary>
    public int MaxInputs { get; set; } = 600;

    /// <summary>Older inputs mixed in, as a share of the new ones, so a round does not forget. Default: 0.25.</summary>
    public double OlderSampleFraction { get; set; } = 0.25;

    /// <summary>Share of the new inputs kept out of tuning to evaluate on. Default: 0.2.</summary>
    public double HeldOutFraction { get; set; } = 0.2;

    /// <summary>
    /// Promotion needs the lower bound of the 95 % interval of a gain (labelled canary, or verifier pass rate on held-out
    /// inputs) above this, and no signal with a significant loss (see PromotionPolicy). Default: 0 (a significant gain).
    /// </summary>
    public double Margin { get; set; }

    public RoundSettings Round { get; set; } = new();

    public PromotionTarget Target { get; set; } = new();

    /// <summary>Share of traffic (0-100) a promoted version first gets as a canary; 0 promotes at once. Default: 0.</summary>
    public double CanaryPercent { get; set; }

    /// <summary>How long the canary runs before full promotion, in seconds. Default: 60.</summary>
    public int CanarySeconds { get; set; } = 60;

    /// <summary>
    /// A boolean feedback metric (higher is better) compared during the canary beside the success rate: the share of
    /// rated calls rated up, canary against live; a significant loss rolls the canary back. Default: none.
    /// </summary>
    public string? CanaryFeedbackMetric { get; set; }
}

public sealed class TaskOptions
{
    /// <summary>Scorer configuration file (see tao train --help), or inline JSON. Required.</summary>
    public string Scorer { get; set; } = string.Empty;

    /// <summary>Facts the scorer needs with every input of the task (e.g. "database" for SQL). Default: none.</summary>
    public Dictionary<string, string> Context { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Optional labelled canary set (JSON lines: messages, expected, context); never trained on.</summary>
    public string? LabelledEval { get; set; }

    /// <summary>
    /// Items of the labelled set each round evaluates on: consecutive rounds take consecutive slices, so a set large
    /// enough is not reused round after round (choosing on the same test set again and again favours lucky candidates).
    /// 0 uses the whole set every round. Default: 400.
    /// </summary>
    public int LabelledPerRound { get; set; } = 400;

    /// <summary>
    /// Use demonstrations posted as feedback (an edited ideal answer for a call) as the targets of their prompts: the
    /// round's only labelled data, recorded as such in its evaluation. Default: true.
    /// </summary>
    public bool UseDemonstrations { get; set; } = true;

    /// <summary>
    /// A boolean feedback metric declared at the gateway (e.g. "thumbs_up"): answers users rated up become their
    /// prompts' targets (when no demonstration exists), and a candidate identical to an answer rated down scores 0.
    /// Default: none.
    /// </summary>
    public string? FeedbackMetric { get; set; }
}

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

    /// <summary>Most epochs of the polish (the round's starting weights fine-tuned on the final buffer); 0 turns it off. Default: 8.</summary>
    public int PolishEpochs { get; set; } = 8;

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

    /// <summary>Sampling temperature of the candidates. Default: 1.</summary>
    public double Temperature { get; set; } = 1.0;

    /// <summary>Most tokens per answer. Default: 48.</summary>
    public int MaxTokens { get; set; } = 48;

    /// <summary>The TAO round these settings describe (everything not set here keeps TaoRoundOptions' default).</summary>
    public Tao.Trainer.Training.TaoRoundOptions ToRoundOptions(ulong seed) => new()
    {
        Objective = Enum.Parse<Tao.Trainer.Training.TaoObjective>(Objective, ignoreCase: true),
        Candidates = Candidates,
        Iterations = Iterations,
        MinCoverageGain = MinCoverageGain,
        PolishEpochs = PolishEpochs,
        LearningRate = LearningRate,
        BatchSize = BatchSize,
        EpochsPerIteration = EpochsPerIteration,
        MinBestScore = MinBestScore,
        MinTopShare = MinTopShare,
        Lora = LoraRank > 0 ? new Tao.Trainer.Lora.LoraOptions { Rank = LoraRank, Alpha = 2 * LoraRank } : null,
        Generation = new Tao.Trainer.Generation.GenerationOptions { Temperature = Temperature, MaxNewTokens = MaxTokens, BatchSize = 512 },
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

/// <summary>Where a promoted version is served from.</summary>
public sealed class PromotionTarget
{
    /// <summary>Local (Tao's model server), Vllm (LoRA adapter hot-loaded into vLLM), or Url (any upstream). Default: Local.</summary>
    public string Kind { get; set; } = "Local";

    /// <summary>Gateway cluster of the model server (Local) or of vLLM (Vllm). Default: "tao-models".</summary>
    public string Cluster { get; set; } = "tao-models";

    /// <summary>Model server URL and admin key (Local).</summary>
    public string ServerUrl { get; set; } = "http://127.0.0.1:8000";
    public string? ServerAdminKey { get; set; }

    /// <summary>vLLM URL (Vllm): adapters are loaded through /v1/load_lora_adapter; the path must be readable by vLLM.</summary>
    public string VllmUrl { get; set; } = "http://127.0.0.1:8001";

    /// <summary>Upstream base URL and model name (Url).</summary>
    public string? Url { get; set; }
    public string? UrlModel { get; set; }
}
