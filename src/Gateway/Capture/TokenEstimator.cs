using System.Collections.Concurrent;

namespace Tao.Gateway.Capture;

/// <summary>Counts tokens in the model's tiktoken encoding when an upstream reports no usage (the record says so).</summary>
internal sealed class TokenEstimator
{
    private const int ChatOverheadPerMessage = 3;
    private readonly ConcurrentDictionary<string, Lazy<TiktokenCounter>> _counters = new(StringComparer.Ordinal);

    public int Count(string text, string? encoding)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        var name = encoding is "cl100k_base" ? "cl100k_base" : "o200k_base";
        // Lazy: concurrent first calls load a vocabulary once, not once each.
        return _counters.GetOrAdd(name, n => new Lazy<TiktokenCounter>(() => TiktokenCounter.Create(n))).Value.Count(text);
    }

    /// <summary>Chat prompts carry a few formatting tokens per message beyond their text.</summary>
    public int CountPrompt(string prompt, int messages, string? encoding) =>
        Count(prompt, encoding) + messages * ChatOverheadPerMessage;
}
