namespace Tao.Flywheel;

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
    /// The least evidence a canary decides on: after <see cref="CanarySeconds"/> it runs on until each side, live and
    /// canary, has this many calls (rated calls when <see cref="CanaryFeedbackMetric"/> is set), or until
    /// <see cref="CanaryMaxSeconds"/>, then decides on what it has. Default: 0 (the window alone).
    /// </summary>
    public int CanaryMinCalls { get; set; }

    /// <summary>The longest a canary waiting for <see cref="CanaryMinCalls"/> runs, in seconds. Default: 600.</summary>
    public int CanaryMaxSeconds { get; set; } = 600;

    /// <summary>
    /// A boolean feedback metric (higher is better) compared during the canary beside the success rate: the share of
    /// rated calls rated up, canary against live; a significant loss rolls the canary back. Default: none.
    /// </summary>
    public string? CanaryFeedbackMetric { get; set; }
}
