using System.Runtime.CompilerServices;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Generation;

/// <summary>
/// Sampling restricted to whole spans of a document (<see cref="GenerationOptions.GroundIn"/>): at each step only the
/// tokens that keep the answer a prefix of a span starting at a word boundary of the document may be drawn, and the answer
/// may end only where it is a whole span (<see cref="SubstringScorer.IsWholeSpan"/>). The model's own probabilities are
/// renormalised over those tokens, so a sample is a draw from the model's distribution given that its answer passes the
/// grounding check — what rejection sampling against that check would return with an unbounded budget, without spending
/// the budget on answers the check rejects.
/// </summary>
internal sealed class GroundedSpans
{
    private static readonly ConditionalWeakTable<TextTokenizer, Vocabulary> s_vocabularies = [];

    private readonly string _document;
    private readonly Vocabulary _vocabulary;
    private readonly int[] _starts; // tokens that may open an answer in this document

    private GroundedSpans(string document, Vocabulary vocabulary)
    {
        _document = document;
        _vocabulary = vocabulary;
        // Walking the trie of the tokens' trimmed texts from each place an answer may open finds the same tokens as
        // testing every token of the vocabulary against the document, at the document's length times a token's instead
        // of the vocabulary's size times the document's (a 32k vocabulary on a page of text).
        var starts = new SortedSet<int>();
        for (var at = 0; at < document.Length; at++)
        {
            if (char.IsLetterOrDigit(document[at]) && at > 0 && char.IsLetterOrDigit(document[at - 1]))
            {
                continue; // inside a word: no answer that opens with a letter or digit starts here
            }

            var node = vocabulary.Trimmed;
            for (var k = at; k < document.Length && node.Next.TryGetValue(document[k], out var child); k++)
            {
                node = child;
                starts.UnionWith(node.Tokens);
            }
        }

        _starts = [.. starts];
    }

    /// <summary>The constraint for one document (its first-step tokens worked out once, shared by the document's samples).</summary>
    public static GroundedSpans For(string document, TextTokenizer tokenizer) =>
        new(document, s_vocabularies.GetValue(tokenizer, t => new Vocabulary(t)));

    /// <summary>
    /// Tokens that may follow the answer <paramref name="sofar"/> (as decoded), and whether it may end here. With nothing
    /// allowed and no end (it cannot happen when the answer so far is grounded), the caller leaves the row unconstrained.
    /// </summary>
    public (IReadOnlyCollection<int> Next, bool CanStop) Allowed(string sofar)
    {
        var answer = sofar.TrimStart();
        if (answer.Length == 0)
        {
            return (_starts, false);
        }

        var next = new HashSet<int>();
        foreach (var at in Openings(answer))
        {
            var node = _vocabulary.Root;
            for (var k = at + answer.Length; k < _document.Length && node.Next.TryGetValue(_document[k], out var child); k++)
            {
                node = child;
                next.UnionWith(node.Tokens);
            }
        }

        return (next, SubstringScorer.IsWholeSpan(_document, answer.Trim()));
    }

    /// <summary>Where <paramref name="prefix"/> occurs in the document starting at a word boundary (when it opens with a letter or digit).</summary>
    private IEnumerable<int> Openings(string prefix)
    {
        var open = char.IsLetterOrDigit(prefix[0]);
        for (var at = _document.IndexOf(prefix, StringComparison.Ordinal); at >= 0; at = _document.IndexOf(prefix, at + 1, StringComparison.Ordinal))
        {
            if (!open || at == 0 || !char.IsLetterOrDigit(_document[at - 1]))
            {
                yield return at;
            }
        }
    }

    /// <summary>Every ordinary token's text, and character tries over them as they are and trimmed (built once per tokenizer).</summary>
    private sealed class Vocabulary
    {
        public Vocabulary(TextTokenizer tokenizer)
        {
            // A token's text as it reads after another token (a SentencePiece piece's leading space survives this way).
            var anchor = tokenizer.Encode("a");
            var anchorText = tokenizer.Decode(anchor);
            Texts = new string?[tokenizer.VocabularySize];
            for (var id = 0; id < Texts.Length; id++)
            {
                if (tokenizer.IsSpecial(id))
                {
                    continue;
                }

                var text = tokenizer.Decode([.. anchor, id]);
                if (text.Length > anchorText.Length && text.StartsWith(anchorText, StringComparison.Ordinal) && !text.Contains('\uFFFD'))
                {
                    Texts[id] = text[anchorText.Length..];
                    var node = Root;
                    foreach (var c in Texts[id]!)
                    {
                        node = node.Next.TryGetValue(c, out var child) ? child : node.Next[c] = new Node();
                    }

                    node.Tokens.Add(id);
                    var trimmed = Texts[id]!.TrimStart();
                    node = Trimmed;
                    foreach (var c in trimmed)
                    {
                        node = node.Next.TryGetValue(c, out var child) ? child : node.Next[c] = new Node();
                    }

                    if (trimmed.Length > 0)
                    {
                        node.Tokens.Add(id);
                    }
                }
            }
        }

        public string?[] Texts { get; }

        public Node Root { get; } = new();

        /// <summary>The same trie over the texts without their leading whitespace: what may open an answer.</summary>
        public Node Trimmed { get; } = new();
    }

    private sealed class Node
    {
        public Dictionary<char, Node> Next { get; } = [];

        public List<int> Tokens { get; } = [];
    }
}
