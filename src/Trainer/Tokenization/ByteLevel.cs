using System.Text.RegularExpressions;

namespace Tao.Trainer.Tokenization;

/// <summary>GPT-2's byte-level alphabet: every byte maps to a printable character, so BPE never sees an unknown symbol.</summary>
internal static partial class ByteLevel
{
    private static readonly char[] s_byteToChar = BuildTable();

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = s_byteToChar[bytes[i]];
        }

        return new string(chars);
    }

    /// <summary>GPT-2's pre-tokenization: contractions, letter runs, digit runs, punctuation runs, white space.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    public static partial Regex Gpt2Pattern();

    /// <summary>
    /// GPT-2's pre-tokenization with every digit on its own (as Llama and Llama 3 tokenizers do): a number is then
    /// spelled digit by digit, so copying or computing it never depends on how BPE happened to merge its digits.
    /// </summary>
    public const string DigitSplitPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [GeneratedRegex(DigitSplitPattern)]
    public static partial Regex DigitSplit();

    private static char[] BuildTable()
    {
        var table = new char[256];
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            table[b] = printable.Contains(b) ? (char)b : (char)(256 + next++);
        }

        return table;
    }
}
