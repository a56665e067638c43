namespace Tao.Trainer.Benchmark;

/// <summary>The benchmark's figures (also written as JSON).</summary>
public sealed class TaoBenchmarkReport
{
    public TaoBenchmarkOptions? Options { get; set; }
    public List<FamilyResult> Families { get; } = [];
    public ThroughputResult? Throughput { get; set; }
    public double ElapsedSeconds { get; set; }
    public double BaseBuildSeconds { get; set; }
    public bool BaseFromCache { get; set; }
}

public sealed class FamilyResult
{
    public string Family { get; set; } = string.Empty;
    public int TuningInputs { get; set; }
    public int HeldOut { get; set; }
    public double Base { get; set; }
    public double Sft { get; set; }

    /// <summary>Held-out inputs where the largest budget's samples contain a right answer (an upper bound for selection).</summary>
    public double PassAtN { get; set; }

    /// <summary>Held-out inputs where the label-free scorer's top sample is right.</summary>
    public double LabelFreePick { get; set; }
    public SortedDictionary<int, double> Tao { get; } = [];
    public double BaseTokensPerAnswer { get; set; }
    public SortedDictionary<int, double> TaoTokensPerAnswer { get; } = [];
    public SortedDictionary<int, double> TaoSeconds { get; } = [];
    public SortedDictionary<int, double> TaoTrainingTokensPerSecond { get; } = [];
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
