using Tao.Trainer.Generation;
using Tao.Trainer.Lora;

namespace Tao.Trainer.Training;

/// <summary>Settings of one TAO round: exploration (candidates), the objective, and the guards.</summary>
public sealed record TaoRoundOptions
{
    public TaoObjective Objective { get; init; } = TaoObjective.Grpo;

    /// <summary>Candidates sampled per prompt: the tuning compute. Default: 8.</summary>
    public int Candidates { get; init; } = 8;

    public GenerationOptions Generation { get; init; } = new() { Temperature = 1.0, TopP = 1.0, MaxNewTokens = 64 };

    /// <summary>Generate → score → train cycles. Default: 4.</summary>
    public int Iterations { get; init; } = 4;

    /// <summary>Prompts sampled per iteration (0 = all). Default: 0.</summary>
    public int PromptsPerIteration { get; init; }

    /// <summary>Passes over an iteration's scored candidates; above 1 the importance ratio is clipped. Default: 1.</summary>
    public int EpochsPerIteration { get; init; } = 1;

    /// <summary>Sequences per optimiser step. Default: 32.</summary>
    public int BatchSize { get; init; } = 32;

    public double LearningRate { get; init; } = 1e-4;

    /// <summary>PPO-style ratio clip. Default: 0.2.</summary>
    public double Clip { get; init; } = 0.2;

    /// <summary>KL penalty to the starting model (k3 estimator); 0 turns it off. Default: 0.</summary>
    public double KlBeta { get; init; }

    /// <summary>DPO's beta. Default: 0.1.</summary>
    public double DpoBeta { get; init; } = 0.1;

    /// <summary>Train LoRA adapters instead of all weights. Default: null (full fine-tuning).</summary>
    public LoraOptions? Lora { get; init; }

    /// <summary>Evaluations (after each iteration) during which reward may rise while held-out quality falls before stopping. Default: 2.</summary>
    public int GuardPatience { get; init; } = 2;

    /// <summary>Held-out drop below the best that counts as falling. Default: 0.02.</summary>
    public double GuardTolerance { get; init; } = 0.02;

    /// <summary>Groups whose best candidate scores below this teach nothing (rejection sampling's threshold). Default: 0.5.</summary>
    public double MinBestScore { get; init; } = 0.5;

    public ulong Seed { get; init; } = 1;
}
