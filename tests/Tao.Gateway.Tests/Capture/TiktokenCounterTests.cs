using System.Text;
using Microsoft.ML.Tokenizers;
using Tao.Gateway.Capture;

namespace Tao.Gateway.Tests.Capture;

/// <summary>
/// The gateway's compact token counter against Microsoft.ML.Tokenizers' tiktoken, the reference it replaces on the
/// gateway: the same count for every text of a mixed corpus, in both encodings.
/// </summary>
public sealed class TiktokenCounterTests
{
    [Theory]
    [InlineData("o200k_base")]
    [InlineData("cl100k_base")]
    public void Counts_AsMicrosoftsTiktokenDoes_OverAMixedCorpus(string encoding)
    {
        var counter = TiktokenCounter.Create(encoding);
        var reference = TiktokenTokenizer.CreateForEncoding(encoding);
        var mismatches = new List<string>();
        foreach (var text in Corpus())
        {
            var expected = reference.CountTokens(text);
            var actual = counter.Count(text);
            if (actual != expected)
            {
                mismatches.Add($"{actual} against {expected}: {(text.Length > 80 ? text[..80] + "…" : text)}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches.Take(10)));
        Assert.True(counter.VocabularySize > (encoding == "o200k_base" ? 199_000 : 100_000));
    }

    [Fact]
    public void ASpecialTokenWrittenInTheText_CountsAsOne()
    {
        var counter = TiktokenCounter.Create("o200k_base");
        Assert.Equal(counter.Count("hello") + 1 + counter.Count(" world"), counter.Count("hello<|endoftext|> world"));
        Assert.Equal(0, counter.Count(string.Empty));
    }

    private static IEnumerable<string> Corpus()
    {
        yield return "hello world";
        yield return "Hello, World! It's a test; they'll see — we've done it, I'm sure, you'd agree. THEY'RE LOUD'S";
        yield return "The quick brown fox jumps over the lazy dog. 1234567890 3.14159 -42 1e10 0x1F";
        yield return "def f(x):\n    return x ** 2  # square\n\n\n\tprint(f(3))\r\n";
        yield return "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}";
        yield return "数据飞轮让模型越用越好。日本語のテキストも数えます。한국어 텍스트";
        yield return "Emoji 🚀🔥👍🏽 and flags 🇫🇷 and ZWJ 👨‍👩‍👧 family";
        yield return "Combining: e\u0301 a\u0308 n\u0303 — Arabic: مرحبا بالعالم — Hebrew: שלום — Devanagari: नमस्ते";
        yield return "   leading spaces, trailing spaces   \n\n\n   \t\t mixed whitespace \u00a0nbsp\u2003em";
        yield return "URL https://example.com/path/to/page?query=1&other=two#frag and path /usr/local/bin//";
        yield return "<|endoftext|>special at start, <|endofprompt|> in the middle, <|fim_prefix|><|fim_middle|><|fim_suffix|> end<|endoftext|>";
        yield return "<|endoftext";
        yield return new string('a', 3000); // one long piece: the large merge path
        yield return string.Concat(Enumerable.Repeat("ab", 1500));
        yield return new string(' ', 2000) + "x";
        yield return string.Concat(Enumerable.Repeat("🙂", 400));
        yield return string.Concat(Enumerable.Repeat("supercalifragilisticexpialidocious", 40));
        var random = new Random(20261205);
        // Whole characters, then UTF-16 units (an emoji's halves alone: a prompt cut inside an emoji).
        var alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:'\"!?()[]{}<>/\\|-_=+*&^%$#@~`\n\t\r éüßøçñ数据飞轮"
            .Select(c => c.ToString()).Append("🙂").Append("👍🏽").ToArray();
        for (var i = 0; i < 300; i++)
        {
            yield return RandomText(random, random.Next(1, i % 50 == 0 ? 2000 : 200), alphabet);
        }

        var units = "abc XYZ 123 ,.;\n éü数据🙂👍🏽".Select(c => c.ToString()).ToArray();
        for (var i = 0; i < 100; i++)
        {
            yield return RandomText(random, random.Next(1, 300), units);
        }

        // Words of random letters only: long runs of one piece kind, many with no token of their own.
        var letters = Enumerable.Range('a', 26).Select(c => ((char)c).ToString()).ToArray();
        for (var i = 0; i < 100; i++)
        {
            yield return RandomText(random, random.Next(200, 1200), letters);
        }
    }

    private static string RandomText(Random random, int length, string[] pieces)
    {
        var text = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            text.Append(pieces[random.Next(pieces.Length)]);
        }

        return text.ToString();
    }
}
