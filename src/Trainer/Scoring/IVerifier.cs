namespace Tao.Trainer.Scoring;

/// <summary>
/// A scorer that checks each candidate on its own against a rule or the world (it runs, it is in the document, it
/// substitutes back, it matches the schema), never against the other candidates: its verdict on an answer does not
/// depend on what else was sampled. Verifiers are what promotion trusts without labels.
/// </summary>
internal interface IVerifier : IScorer
{
}
