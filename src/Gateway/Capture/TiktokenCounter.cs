using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;
using System.IO.Hashing;
using System.Numerics;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace Tao.Gateway.Capture;

/// <summary>
/// Counts the tokens of a text in an OpenAI tiktoken encoding (o200k_base, cl100k_base): the encoding's pre-tokenizing
/// expression, its special tokens, then byte-pair merges by rank — the same count as Microsoft.ML.Tokenizers'
/// <c>TiktokenTokenizer.CountTokens</c> (a test holds the two equal over a mixed corpus), from the vocabulary that library's
/// data packages ship. Why not that tokenizer itself: it keeps three dictionaries of the vocabulary (bytes to rank, rank
/// to bytes, text to rank) with an array and a string per token — ~43 MB of a gateway's managed heap for o200k_base,
/// against a ~1.3 MB run of the tokens' bytes, their offsets and one open-addressing table here (~5 MB). A count needs
/// only the first of the three.
/// </summary>
internal sealed partial class TiktokenCounter
{
    // Pre-tokenizing expressions of tiktoken's encodings (tiktoken_ext/openai_public.py), as Microsoft.ML.Tokenizers writes them.
    private const string O200kPattern =
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const string Cl100kPattern =
        @"'(?i:[sdmt]|ll|ve|re)|(?>[^\r\n\p{L}\p{N}]?)(?>\p{L}+)|(?>\p{N}{1,3})| ?(?>[^\s\p{L}\p{N}]+)(?>[\r\n]*)|(?>\s+)$|\s*[\r\n]|\s+(?!\S)|\s";

    [GeneratedRegex(O200kPattern)]
    private static partial Regex O200kPieces();

    [GeneratedRegex(Cl100kPattern)]
    private static partial Regex Cl100kPieces();

    private const int SimpleMergeMaxBytes = 256;

    private readonly Regex _pieces;
    private readonly string[] _specialTokens;
    private readonly byte[] _bytes; // every token's bytes, by rank
    private readonly int[] _starts; // token r is _bytes[_starts[r].._starts[r + 1]]
    private readonly int[] _table; // open addressing: rank + 1, 0 for empty
    private readonly int _mask;

    private TiktokenCounter(Regex pieces, string[] specialTokens, byte[] bytes, int[] starts)
    {
        _pieces = pieces;
        _specialTokens = specialTokens;
        _bytes = bytes;
        _starts = starts;
        var tokens = starts.Length - 1;
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, tokens * 2));
        _table = new int[size];
        _mask = size - 1;
        for (var rank = 0; rank < tokens; rank++)
        {
            var token = Token(rank);
            if (token.IsEmpty)
            {
                continue;
            }

            var slot = Slot(token);
            while (_table[slot] != 0)
            {
                slot = (slot + 1) & _mask;
            }

            _table[slot] = rank + 1;
        }
    }

    /// <summary>Tokens in the table (the vocabulary's size).</summary>
    public int VocabularySize => _starts.Length - 1;

    /// <summary>o200k_base (GPT-4o and later) or cl100k_base (GPT-4, GPT-3.5), from the Microsoft.ML.Tokenizers data package.</summary>
    // The data packages are loaded by name; named here too, so a Native AOT build (src/GatewayServer) keeps them.
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, "Microsoft.ML.Tokenizers.O200kBaseTokenizerData", "Microsoft.ML.Tokenizers.Data.O200kBase")]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, "Microsoft.ML.Tokenizers.Cl100kBaseTokenizerData", "Microsoft.ML.Tokenizers.Data.Cl100kBase")]
    public static TiktokenCounter Create(string encoding) => encoding switch
    {
        "o200k_base" => Load("Microsoft.ML.Tokenizers.Data.O200kBase", "o200k_base.tiktoken.deflate", O200kPieces(),
            ["<|endoftext|>", "<|endofprompt|>"]),
        "cl100k_base" => Load("Microsoft.ML.Tokenizers.Data.Cl100kBase", "cl100k_base.tiktoken.deflate", Cl100kPieces(),
            ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|endofprompt|>"]),
        _ => throw new ArgumentException($"unknown tiktoken encoding '{encoding}'", nameof(encoding)),
    };

    /// <summary>
    /// Reads a vocabulary in the data packages' form: deflated text, an optional "Capacity: N" line, then one token per
    /// line in base64, its rank the line's number (an empty line is a rank with no token). The tokens' bytes land one
    /// after the other in rank order, so a rank's bytes are found without a table of their own.
    /// </summary>
    private static TiktokenCounter Load(string assembly, string resource, Regex pieces, string[] specialTokens)
    {
        using var compressed = Assembly.Load(assembly).GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"{assembly} has no resource {resource}");
        using var reader = new StreamReader(new DeflateStream(compressed, CompressionMode.Decompress), Encoding.ASCII);
        var bytes = new ArrayBufferWriter<byte>(2 * 1024 * 1024);
        var starts = new List<int>(200_001) { 0 };
        var line = reader.ReadLine();
        if (line is not null && line.StartsWith("Capacity: ", StringComparison.Ordinal))
        {
            line = reader.ReadLine();
        }

        for (; line is not null; line = reader.ReadLine())
        {
            if (!Convert.TryFromBase64Chars(line, bytes.GetSpan(line.Length), out var written))
            {
                throw new InvalidDataException($"{resource}: the token of rank {starts.Count - 1} is not base64");
            }

            bytes.Advance(written);
            starts.Add(bytes.WrittenCount);
        }

        return new TiktokenCounter(pieces, specialTokens, bytes.WrittenSpan.ToArray(), [.. starts]);
    }

    /// <summary>The number of tokens <paramref name="text"/> encodes to; a special token written in it counts as one.</summary>
    public int Count(ReadOnlySpan<char> text)
    {
        var count = 0;
        while (!text.IsEmpty)
        {
            var (at, length) = NextSpecialToken(text);
            count += CountOrdinary(at < 0 ? text : text[..at]);
            if (at < 0)
            {
                break;
            }

            count++;
            text = text[(at + length)..];
        }

        return count;
    }

    private (int At, int Length) NextSpecialToken(ReadOnlySpan<char> text)
    {
        var first = -1;
        var length = 0;
        foreach (var special in _specialTokens)
        {
            var at = text.IndexOf(special, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
                length = special.Length;
            }
        }

        return (first, length);
    }

    private int CountOrdinary(ReadOnlySpan<char> text)
    {
        var count = 0;
        foreach (var match in _pieces.EnumerateMatches(text))
        {
            count += CountPiece(text.Slice(match.Index, match.Length));
        }

        return count;
    }

    private int CountPiece(ReadOnlySpan<char> piece)
    {
        var max = Encoding.UTF8.GetMaxByteCount(piece.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var bytes = buffer[..Utf8(piece, buffer)];
            if (bytes.Length <= 1 || Rank(bytes) >= 0)
            {
                return bytes.Length == 0 ? 0 : 1;
            }

            return bytes.Length <= SimpleMergeMaxBytes ? MergeSimple(bytes) : MergeLarge(bytes);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// UTF-8 of <paramref name="text"/>, a lone surrogate written as its own three bytes (WTF-8) where
    /// <see cref="Encoding.UTF8"/> would write U+FFFD: so a prompt cut inside an emoji counts as the reference counts it.
    /// </summary>
    private static int Utf8(ReadOnlySpan<char> text, Span<byte> destination)
    {
        var at = 0;
        for (var i = 0; i < text.Length; i++)
        {
            uint c = text[i];
            if (c <= 0x7F)
            {
                destination[at++] = (byte)c;
            }
            else if (c <= 0x7FF)
            {
                destination[at++] = (byte)(0xC0 | (c >> 6));
                destination[at++] = (byte)(0x80 | (c & 0x3F));
            }
            else if (i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1]))
            {
                var scalar = (uint)char.ConvertToUtf32(text[i], text[i + 1]);
                destination[at++] = (byte)(0xF0 | (scalar >> 18));
                destination[at++] = (byte)(0x80 | ((scalar >> 12) & 0x3F));
                destination[at++] = (byte)(0x80 | ((scalar >> 6) & 0x3F));
                destination[at++] = (byte)(0x80 | (scalar & 0x3F));
                i++;
            }
            else
            {
                destination[at++] = (byte)(0xE0 | (c >> 12));
                destination[at++] = (byte)(0x80 | ((c >> 6) & 0x3F));
                destination[at++] = (byte)(0x80 | (c & 0x3F));
            }
        }

        return at;
    }

    /// <summary>
    /// tiktoken's byte-pair merge: start from single bytes and, while any two neighbouring parts join into a token,
    /// join the pair whose token has the lowest rank (the leftmost such pair on a tie). Returns the parts left.
    /// </summary>
    private int MergeSimple(ReadOnlySpan<byte> piece)
    {
        // Parts 0..parts-1: part i is piece[starts[i]..starts[i + 1]]; ranks[i]: the rank of parts i and i + 1 joined
        // (int.MaxValue: no such token).
        Span<int> starts = stackalloc int[piece.Length + 1];
        Span<int> ranks = stackalloc int[piece.Length];
        var parts = piece.Length;
        for (var i = 0; i <= piece.Length; i++)
        {
            starts[i] = i;
        }

        for (var i = 0; i < parts - 1; i++)
        {
            ranks[i] = RankOrMax(piece[i..(i + 2)]);
        }

        while (true)
        {
            var best = -1;
            var bestRank = int.MaxValue;
            for (var i = 0; i < parts - 1; i++)
            {
                if (ranks[i] < bestRank)
                {
                    bestRank = ranks[i];
                    best = i;
                }
            }

            if (best < 0)
            {
                return parts;
            }

            // Part best + 1 joins part best: the later boundaries and pairs move down by one.
            starts[(best + 2)..(parts + 1)].CopyTo(starts[(best + 1)..]);
            if (best + 2 < parts - 1)
            {
                ranks[(best + 2)..(parts - 1)].CopyTo(ranks[(best + 1)..]);
            }

            parts--;
            if (best < parts - 1)
            {
                ranks[best] = RankOrMax(piece[starts[best]..starts[best + 2]]);
            }

            if (best > 0)
            {
                ranks[best - 1] = RankOrMax(piece[starts[best - 1]..starts[best + 1]]);
            }
        }
    }

    /// <summary>The same merge for a long piece (a run of one kind of character thousands long): the pairs in a heap by
    /// rank then position, stale entries skipped, so the work grows as n log n rather than n².</summary>
    private int MergeLarge(ReadOnlySpan<byte> piece)
    {
        var n = piece.Length;
        var next = new int[n]; // next part's start, n at the end; -1 once merged away
        var prev = new int[n];
        var rankOf = new int[n]; // rank of this part joined with the next, as last queued
        var heap = new PriorityQueue<int, (int Rank, int Start)>(n);
        for (var i = 0; i < n; i++)
        {
            next[i] = i + 1;
            prev[i] = i - 1;
            rankOf[i] = i + 1 < n ? RankOrMax(piece[i..(i + 2)]) : int.MaxValue;
            if (rankOf[i] != int.MaxValue)
            {
                heap.Enqueue(i, (rankOf[i], i));
            }
        }

        var parts = n;
        while (heap.TryDequeue(out var start, out var key))
        {
            if (next[start] < 0 || rankOf[start] != key.Rank)
            {
                continue; // merged away, or its pair changed since it was queued
            }

            var gone = next[start];
            next[start] = next[gone];
            if (next[gone] < n)
            {
                prev[next[gone]] = start;
            }

            next[gone] = -1;
            parts--;
            rankOf[start] = next[start] < n ? RankOrMax(piece[start..NextEnd(next, start, n)]) : int.MaxValue;
            if (rankOf[start] != int.MaxValue)
            {
                heap.Enqueue(start, (rankOf[start], start));
            }

            var before = prev[start];
            if (before >= 0)
            {
                rankOf[before] = RankOrMax(piece[before..next[start]]);
                if (rankOf[before] != int.MaxValue)
                {
                    heap.Enqueue(before, (rankOf[before], before));
                }
            }
        }

        return parts;
    }

    /// <summary>Where the part after <paramref name="start"/>'s next part ends.</summary>
    private static int NextEnd(int[] next, int start, int n)
    {
        var after = next[start];
        return after < n ? next[after] : n;
    }

    private int RankOrMax(ReadOnlySpan<byte> bytes) => Rank(bytes) is var rank and >= 0 ? rank : int.MaxValue;

    /// <summary>The rank of the token with exactly these bytes, or -1.</summary>
    private int Rank(ReadOnlySpan<byte> bytes)
    {
        var slot = Slot(bytes);
        while (_table[slot] is var entry and not 0)
        {
            if (Token(entry - 1).SequenceEqual(bytes))
            {
                return entry - 1;
            }

            slot = (slot + 1) & _mask;
        }

        return -1;
    }

    private ReadOnlySpan<byte> Token(int rank) => _bytes.AsSpan(_starts[rank], _starts[rank + 1] - _starts[rank]);

    private int Slot(ReadOnlySpan<byte> bytes) => (int)XxHash3.HashToUInt64(bytes) & _mask;
}
