
namespace Tao.Trainer.Generation;

/// <summary>Where a TAO round's candidates come from: the local model, or any OpenAI-compatible endpoint (vLLM at scale).</summary>
public interface ICandidateSource
{
    Task<IReadOnlyList<IReadOnlyList<Candidate>>> GenerateAsync(IReadOnlyList<TaskPrompt> prompts, int perPrompt, GenerationOptions options, CancellationToken cancellationToken);
}
