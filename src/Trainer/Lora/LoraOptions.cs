namespace Tao.Trainer.Lora;

/// <summary>Low-rank adapters: which projections get them, their rank and scale.</summary>
public sealed record LoraOptions
{
    /// <summary>Rank of each adapter. Default: 8.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>Scale numerator: the update is (alpha / rank) * B A. Default: 16.</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Projections adapted, by their Hugging Face names. Default: q_proj, k_proj, v_proj, o_proj.</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "k_proj", "v_proj", "o_proj"];

    public double Scaling => Alpha / Rank;
}
