using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace Tao.Gateway.Capture;

/// <summary>Counts tokens with Microsoft.ML.Tokenizers when an upstream reports no usage (the record says so).</summary>
internal sealed class TokenEstimator
{
    private const int ChatOverheadPerMessage = 3;
    private readonly ConcurrentDictionary<string, Tokenizer> _tokenizers = new(StringComparer.Ordinal);

    public int Count(string text, string? encoding)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        var name = encoding is "cl100k_base" ? "cl100k_base" : "o200k_base";
        var tokenizer = _tokenizers.GetOrAdd(name, n => TiktokenTokenizer.CreateForEncoding(n));
        return tokenizer.CountTokens(text);
    }

    /// <summary>Chat prompts carry a few formatting tokens per message beyond their text.</summary>
    public int CountPrompt(string prompt, int messages, string? encoding) =>
        Count(prompt, encoding) + messages * ChatOverheadPerMessage;
}
