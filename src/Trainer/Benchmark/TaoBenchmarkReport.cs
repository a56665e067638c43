using Tao.Trainer.Evaluation;

namespace Tao.Trainer.Benchmark;

/// <summary>The benchmark's figures (also written as JSON next to the per-item results).</summary>
public sealed class TaoBenchmarkReport
{
    public TaoBenchmarkOptions? Options { get; set; }
    public List<FamilyResult> Families { get; } = [];
    public ThroughputResult? Throughput { get; set; }
    public double ElapsedSeconds { get; set; }

    /// <summary>Jobs that ran at once (each torch operation on one thread when more than one).</summary>
    public int Workers { get; set; } = 1;

    /// <summary>The CPU kernel set the run computed with (<see cref="TorchNumerics"/>); figures reproduce on hosts with the same.</summary>
    public string? Kernels { get; set; }
    public double BaseBuildSeconds { get; set; }
    public bool BaseFromCache { get; set; }
    public string BaseModel { get; set; } = string.Empty;
}

/// <summary>One task family over all seeds: accuracies on the pooled held-out items and the paired comparisons.</summary>
public sealed class FamilyResult
{
    public string Family { get; set; } = string.Empty;
    public int TuningInputs { get; set; }
    public int HeldOutPerSeed { get; set; }
    public double Base { get; set; }
    public double Ft { get; set; }
    public double Tao { get; set; }
    public PairedComparison? TaoVsBase { get; set; }
    public PairedComparison? TaoVsFt { get; set; }
    public PairedComparison? FtVsBase { get; set; }

    /// <summary>The same gains with each seed's training as one draw (Student's t over the per-seed gains).</summary>
    public RunInterval? TaoVsBaseAcrossSeeds { get; set; }
    public RunInterval? TaoVsFtAcrossSeeds { get; set; }

    /// <summary>
    /// Share of the held-out items within the base model's reach (one of its N samples is right), and labelled FT (A)
    /// against TAO (B) on those items and on the others. Label-free tuning can only reinforce answers the model
    /// samples; labels also teach the ones it never does — this split shows which of the two the gap to FT comes from.
    /// </summary>
    public double ReachShare { get; set; }
    public PairedComparison? TaoVsFtWithinReach { get; set; }
    public PairedComparison? TaoVsFtBeyondReach { get; set; }
    public double BaseTokensPerAnswer { get; set; }
    public double TaoTokensPerAnswer { get; set; }
    public List<SeedResult> Seeds { get; } = [];
    public List<ObjectiveResult> Objectives { get; } = [];
    public List<CurvePoint> Budgets { get; } = [];
    public List<CurvePoint> Rounds { get; } = [];

    /// <summary>Labelled fine-tuning on all the rounds' inputs with their answers (the rounds curve's reference line).</summary>
    public CurvePoint? RoundsFt { get; set; }
}

/// <summary>One seed of one family: the three systems, how the baseline was tuned, and TAO's iterations.</summary>
public sealed class SeedResult
{
    public int Seed { get; set; }
    public double Base { get; set; }
    public double Ft { get; set; }
    public double Tao { get; set; }

    /// <summary>Base model on the held-out inputs with N samples: a right answer among them (pass@N), and the label-free scorer's pick right.</summary>
    public double PassAtN { get; set; }
    public double PickAtN { get; set; }

    public double FtLearningRate { get; set; }
    public int FtEpochs { get; set; }
    public int FtSteps { get; set; }
    public double FtDev { get; set; }
    public int TaoSteps { get; set; }
    public int TaoBestIteration { get; set; }

    /// <summary>Iterations the round ran before its buffer stopped growing (or the maximum).</summary>
    public int TaoIterations { get; set; }

    /// <summary>Epochs of the polish on the final buffer that the kept weights had; 0 when an iteration was kept.</summary>
    public int TaoPolishEpoch { get; set; }

    /// <summary>The polish pass the kept weights came from, and how many passes ran (each after the last found new targets).</summary>
    public int TaoPolishPass { get; set; }
    public int TaoPolishPasses { get; set; }

    /// <summary>The kept polish's learning rate (chosen among the rate factors on the label-free dev slice).</summary>
    public double TaoPolishRate { get; set; }

    /// <summary>Share of the training inputs (the tuning inputs less the dev slice) with a target at the end.</summary>
    public double TaoCoverage { get; set; }

    public string TaoStopReason { get; set; } = string.Empty;
    public double TaoSeconds { get; set; }
    public List<IterationResult> Iterations { get; } = [];
}

/// <summary>
/// One TAO iteration as the benchmark saw it. Target precision, pick accuracy and pass@N use the gold answers of the
/// tuning inputs for this report only; the round never sees them.
/// </summary>
public sealed class IterationResult
{
    public int Iteration { get; set; }
    public double? TargetPrecision { get; set; }
    public double? PickAccuracy { get; set; }
    public double? PassAtN { get; set; }
    public double? LabelFreePass { get; set; }
    public int Kept { get; set; }
    public int Groups { get; set; }
    public int? Buffer { get; set; }

    /// <summary>Share of the training inputs with a target in the buffer after this iteration.</summary>
    public double? Coverage { get; set; }

    public double? Entropy { get; set; }
    public double? AnswerTokens { get; set; }
    public double? Dev { get; set; }
}

/// <summary>Another objective at the same candidate budget, on the first seed, against the default objective.</summary>
public sealed class ObjectiveResult
{
    public string Objective { get; set; } = string.Empty;
    public double Accuracy { get; set; }
    public PairedComparison? VsBase { get; set; }
    public double Seconds { get; set; }
}

/// <summary>A point of a curve: held-out accuracy with its 95 % interval (bootstrap over items).</summary>
public sealed record CurvePoint(int X, double Accuracy, double Low, double High)
{
    /// <summary>Each seed's accuracy when the point pools several seeds (the interval resamples items within each seed).</summary>
    public IReadOnlyList<double>? PerSeed { get; init; }

    /// <summary>Rounds curve with the flywheel's gate: whether this round's model was promoted, and its own accuracy (the point is the served model's).</summary>
    public bool? Promoted { get; init; }

    public double? Candidate { get; init; }
}

public sealed class ThroughputResult
{
    public long Parameters { get; set; }
    public double TrainingTokensPerSecond { get; set; }
    public double TrainingGflops { get; set; }
    public double MatmulGflops { get; set; }
    public double GenerationTokensPerSecondCached { get; set; }
    public double GenerationTokensPerSecondUncached { get; set; }
}
