using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tao.Trainer.Tokenization;

/// <summary>
/// Trains a small byte-level BPE tokenizer on a corpus and writes it as Hugging Face's tokenizer.json, so the
/// project's own models load through exactly the code path a downloaded checkpoint's tokenizer does. With
/// <c>splitDigits</c> (the default) numbers are split into single digits before BPE, written as a Llama 3 style
/// Sequence(Split, ByteLevel) pre-tokenizer.
/// </summary>
internal static class BpeTrainer
{
    public static readonly string[] DefaultSpecialTokens = ["<|pad|>", "<|bos|>", "<|eos|>"];

    public static void Train(IEnumerable<string> corpus, int vocabSize, string folder, IReadOnlyList<string>? specialTokens = null, bool splitDigits = true)
    {
        var specials = specialTokens ?? DefaultSpecialTokens;
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        var pattern = splitDigits ? ByteLevel.DigitSplit() : ByteLevel.Gpt2Pattern();
        foreach (var text in corpus)
        {
            foreach (System.Text.RegularExpressions.Match match in pattern.Matches(text))
            {
                var word = ByteLevel.Encode(Encoding.UTF8.GetBytes(match.Value));
                words[word] = words.GetValueOrDefault(word) + 1;
            }
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var special in specials)
        {
            vocab[special] = vocab.Count;
        }

        for (var b = 0; b < 256; b++)
        {
            vocab.TryAdd(ByteLevel.Encode([(byte)b]), vocab.Count);
        }

        var split = words.ToDictionary(w => w.Key, w => w.Key.Select(c => c.ToString()).ToList(), StringComparer.Ordinal);
        var merges = new List<string>();
        while (vocab.Count < vocabSize)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (word, count) in words)
            {
                var symbols = split[word];
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairs[pair] = pairs.GetValueOrDefault(pair) + count;
                }
            }

            if (pairs.Count == 0)
            {
                break;
            }

            // Most frequent pair; ties broken by the pair's text, so training is deterministic.
            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal).First();
            if (best.Value < 2)
            {
                break;
            }

            var (left, right) = best.Key;
            var merged = left + right;
            merges.Add($"{left} {right}");
            vocab.TryAdd(merged, vocab.Count);
            foreach (var symbols in split.Values)
            {
                for (var i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = merged;
                        symbols.RemoveAt(i + 1);
                    }
                }
            }
        }

        Write(folder, vocab, merges, specials, splitDigits);
    }

    private static void Write(string folder, Dictionary<string, int> vocab, List<string> merges, IReadOnlyList<string> specials, bool splitDigits)
    {
        Directory.CreateDirectory(folder);
        var added = new JsonArray(specials.Select(s => (JsonNode?)new JsonObject
        {
            ["id"] = vocab[s], ["content"] = s, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
        }).ToArray());
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = splitDigits
                ? new JsonObject
                {
                    ["type"] = "Sequence",
                    ["pretokenizers"] = new JsonArray(
                        new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = ByteLevel.DigitSplitPattern }, ["behavior"] = "Isolated", ["invert"] = false },
                        new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
                }
                : new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["vocab"] = new JsonObject(vocab.OrderBy(v => v.Value).Select(v => KeyValuePair.Create(v.Key, (JsonNode?)JsonValue.Create(v.Value)))),
                ["merges"] = new JsonArray(merges.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
            },
        };
        var options = new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), tokenizer.ToJsonString(options));
        var config = new JsonObject
        {
            ["tokenizer_class"] = "PreTrainedTokenizerFast",
            ["bos_token"] = specials.Count > 1 ? specials[1] : null,
            ["eos_token"] = specials.Count > 2 ? specials[2] : null,
            ["pad_token"] = specials[0],
            ["model_max_length"] = 2048,
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString(options));
    }
}
