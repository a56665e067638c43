using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Generation;

/// <summary>Candidates sampled from the policy being tuned, in process.</summary>
internal sealed class LocalCandidateSource(LlamaForCausalLM model, TextTokenizer tokenizer, IProgress<int>? progress = null) : ICandidateSource
{
    public Task<IReadOnlyList<IReadOnlyList<Candidate>>> GenerateAsync(
        IReadOnlyList<TaskPrompt> prompts, int perPrompt, GenerationOptions options, CancellationToken cancellationToken)
    {
        var encoded = prompts.Select(p => tokenizer.EncodePrompt(p.Messages)).ToList();
        var documents = options.GroundIn is { } key ? prompts.Select(p => Scoring.SubstringScorer.Document(p.Context, p.Text, key)).ToList() : null;
        var sequences = new TextGenerator(model, tokenizer).Generate(encoded, options with { SamplesPerPrompt = perPrompt }, progress, null, documents);
        IReadOnlyList<IReadOnlyList<Candidate>> grouped = sequences.GroupBy(s => s.PromptIndex).OrderBy(g => g.Key)
            .Select(g => (IReadOnlyList<Candidate>)g.OrderBy(s => s.Sample).Select(s => new Candidate(s.Text.Trim(), s.Tokens, s.FinishReason == "stop", s.Logprobs)).ToList()).ToList();
        return Task.FromResult(grouped);
    }
}
