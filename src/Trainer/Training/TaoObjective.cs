namespace Tao.Trainer.Training;

/// <summary>How a TAO round turns scored candidates into an update.</summary>
public enum TaoObjective
{
    /// <summary>Group-relative policy gradient: on-policy steps over whole groups, advantages standardised per group, KL to the start.</summary>
    Grpo,

    /// <summary>GRPO without the per-group std and length normalisation (Dr. GRPO: unbiased in length and difficulty).</summary>
    DrGrpo,

    /// <summary>Direct preference optimisation on (best, worst) pairs of confident groups, against the starting model.</summary>
    Dpo,

    /// <summary>Expert iteration (ReST-EM): fine-tune on the confident best candidates, kept in a buffer across iterations.</summary>
    BestOfN,
}
