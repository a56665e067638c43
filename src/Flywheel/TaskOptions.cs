namespace Tao.Flywheel;

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

    /// <summary>
    /// Share of the task's training score given to a reward model trained, each round, on the answers users rated with
    /// <see cref="FeedbackMetric"/> (a boolean, or a number where higher is better: pairs of answers rated higher and lower,
    /// for the same prompt and across the task's prompts; see docs/feedback-and-export.md). The model is used only when it orders the pairs held aside from its
    /// training better than chance; the gate's label-free evaluation never uses it. 0 turns it off. Default: 0.
    /// </summary>
    public double RewardModelWeight { get; set; }

    /// <summary>Fewest training pairs the ratings must make for the reward model to be trained. Default: 32.</summary>
    public int RewardModelMinPairs { get; set; } = 32;
}
