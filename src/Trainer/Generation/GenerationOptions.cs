namespace Tao.Trainer.Generation;

/// <summary>How candidates are sampled.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens generated per answer. Default: 64.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>Sampling temperature; 0 is greedy. Default: 1.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches this. Default: 1 (off).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Answers sampled per prompt. Default: 1.</summary>
    public int SamplesPerPrompt { get; init; } = 1;

    /// <summary>Texts that end an answer (not included in it). Default: none.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Seed of the sampler: the same seed, prompts and model give the same answers. Default: 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Sequences generated together. Default: 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>
    /// When set, every answer sampled for a prompt is a whole span of the prompt's context value under this key (of the
    /// prompt's text when it has none): extraction's grounding check applied while sampling instead of after it
    /// (<see cref="GroundedSpans"/>). Sources that sample in process honour it; a remote model cannot be steered token by
    /// token, so <see cref="OpenAiCandidateSource"/> ignores it. Default: null (sample freely).
    /// </summary>
    public string? GroundIn { get; init; }

    /// <summary>Reuse keys and values of earlier tokens (always, except to measure what the cache saves). Default: true.</summary>
    public bool UseCache { get; init; } = true;
}
