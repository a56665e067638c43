namespace Tao.Trainer.Tasks;

/// <summary>
/// How the project builds its own base model (nothing can be downloaded): a small Llama trained briefly from scratch
/// on the task families' base-training data plus a copy curriculum. Brief on purpose: it copies values and knows
/// the answer formats, but makes the mistakes tuning is meant to fix.
/// </summary>
public sealed record BaseModelRecipe
{
    public int Seed { get; init; } = 7;
    public int Epochs { get; init; } = 6;
    public double LearningRate { get; init; } = 6e-3;
    public int HiddenSize { get; init; } = 128;
    public int Layers { get; init; } = 4;
    public int VocabSize { get; init; } = 768;
    public int CopyExamples { get; init; } = 0;

    /// <summary>Base-training part of each family's split: SQL queries, documents.</summary>
    public int SqlQueries { get; init; } = 450;
    public int Documents { get; init; } = 1000;

    /// <summary>A stable name for the recipe, so a cached model is reused only for the same recipe.</summary>
    public string Key => $"base-s{Seed}-e{Epochs}-lr{LearningRate:0.####}-h{HiddenSize}-l{Layers}-v{VocabSize}-c{CopyExamples}-q{SqlQueries}-d{Documents}-v3";

    public int BaseCount(ITaskFamily family) => family.Name == "sql" ? SqlQueries : Documents;
}
