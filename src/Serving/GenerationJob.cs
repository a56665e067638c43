using System.Threading.Channels;
using Tao.Trainer.Generation;

namespace Tao.Serving;

/// <summary>One request's generation: its prompt and sampling settings, a channel of tokens as they come, and its result.</summary>
internal sealed class GenerationJob(int[] prompt, GenerationOptions options, bool stream)
{
    public int[] Prompt { get; } = prompt;
    public GenerationOptions Options { get; } = options;
    public Channel<int>? Tokens { get; } = stream ? Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true }) : null;
    public TaskCompletionSource<GeneratedSequence> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Requests batch together only when they sample the same way.</summary>
    public string BatchKey => $"{Options.Temperature}|{Options.TopP}|{Options.MaxNewTokens}|{Options.Seed}|{string.Join('\u0001', Options.Stop)}";
}
