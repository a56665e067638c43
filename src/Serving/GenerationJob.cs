using System.Threading.Channels;
using Tao.Trainer.Generation;

namespace Tao.Serving;

/// <summary>One request's generation: its prompt and sampling settings, a channel of tokens as they come, and its result.</summary>
internal sealed class GenerationJob(int[] prompt, GenerationOptions options, bool stream, bool seeded)
{
    public int[] Prompt { get; } = prompt;
    public GenerationOptions Options { get; } = options;
    public Channel<int>? Tokens { get; } = stream ? Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true }) : null;
    public TaskCompletionSource<GeneratedSequence> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Requests batch together only when they sample the same way. A request that names a seed decodes with exactly that
    /// seed (reproducible); one that names none shares whatever seed its batch draws.
    /// </summary>
    public string BatchKey => $"{Options.Temperature}|{Options.TopP}|{Options.MaxNewTokens}|{(seeded ? Options.Seed.ToString() : "any")}|{string.Join('\u0001', Options.Stop)}";
}
