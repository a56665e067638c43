namespace Tao.Trainer.Tasks;

/// <summary>
/// How the project builds its own base model (nothing can be downloaded): a small Llama trained from scratch on the
/// task families' base-training data plus a copy curriculum, with a tokenizer that spells numbers digit by digit. It
/// copies values and knows the answer formats, but it learned each task mostly in one wording, and the traffic uses
/// others: the mistakes tuning is meant to fix.
/// </summary>
public sealed record BaseModelRecipe
{
    public int Seed { get; init; } = 7;
    public int Epochs { get; init; } = 6;
    public double LearningRate { get; init; } = 6e-3;
    public int HiddenSize { get; init; } = 128;
    public int Layers { get; init; } = 4;
    public int VocabSize { get; init; } = 768;
    public int CopyExamples { get; init; } = 1500;

    /// <summary>Field look-ups in short records of random values (copying by label, as documents need).</summary>
    public int LookupExamples { get; init; } = 1000;


    /// <summary>Spell numbers digit by digit in the tokenizer (Llama style); else GPT-2's digit runs merged by BPE.</summary>
    public bool SplitDigits { get; init; }

    /// <summary>Loss weight of prompt tokens while pre-training (answers weigh 1): documents and questions teach copying too.</summary>
    public double PromptWeight { get; init; }

    /// <summary>Base-training part of each family's split: SQL queries, documents, conversions.</summary>
    public int SqlQueries { get; init; } = 450;
    public int Documents { get; init; } = 1000;
    public int Conversions { get; init; } = 600;

    /// <summary>Times each SQL example is seen per epoch: its examples are few and short next to the documents'.</summary>
    public int SqlRepeats { get; init; } = 2;

    /// <summary>A stable name for the recipe, so a cached model is reused only for the same recipe.</summary>
    public string Key =>
        $"base-s{Seed}-e{Epochs}-lr{LearningRate:0.####}-h{HiddenSize}-l{Layers}-v{VocabSize}-c{CopyExamples}-k{LookupExamples}-q{SqlQueries}-d{Documents}" +
        $"-u{Conversions}-r{SqlRepeats}-p{PromptWeight:0.##}{(SplitDigits ? "-sd" : "")}-v5";

    public int BaseCount(ITaskFamily family) => family.Name switch
    {
        "sql" => SqlQueries,
        "docqa" => Documents,
        "units" => Conversions,
        _ => 0,
    };
}
