namespace Tao.Trainer.Training;

/// <summary>How group-relative advantages and token losses are normalised.</summary>
internal enum AdvantageVariant
{
    /// <summary>GRPO: (r - mean) / std within the group; each sequence's token losses averaged over its length.</summary>
    Grpo,

    /// <summary>Dr. GRPO: r - mean, no division by std; token losses summed and divided by a constant (the generation budget).</summary>
    DrGrpo,
}
