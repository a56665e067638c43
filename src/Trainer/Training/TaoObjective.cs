namespace Tao.Trainer.Training;

/// <summary>How a TAO round moves the model toward its high-scoring candidates.</summary>
public enum TaoObjective
{
    /// <summary>GRPO: group-relative advantages, clipped policy gradient, optional KL to the reference.</summary>
    Grpo,

    /// <summary>Dr. GRPO: GRPO without std normalisation and without per-sequence length normalisation.</summary>
    DrGrpo,

    /// <summary>DPO on the best and the worst candidate of each group.</summary>
    Dpo,

    /// <summary>Rejection sampling: supervised fine-tuning on each group's best candidate.</summary>
    BestOfN,
}
