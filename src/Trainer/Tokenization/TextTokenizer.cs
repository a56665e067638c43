using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Tao.Trainer.Tokenization;

/// <summary>
/// A model's tokenizer, loaded through Microsoft.ML.Tokenizers from a Hugging Face folder: tokenizer.json (byte-level
/// BPE) or tokenizer.model (SentencePiece), with special tokens and the chat template from tokenizer_config.json.
/// </summary>
public sealed class TextTokenizer
{
    private readonly Tokenizer _tokenizer;
    private readonly IReadOnlyDictionary<string, int> _specials;

    private TextTokenizer(Tokenizer tokenizer, IReadOnlyDictionary<string, int> specials, int? bos, int eos, int pad, ChatTemplate template)
    {
        _tokenizer = tokenizer;
        _specials = specials;
        BosId = bos;
        EosId = eos;
        PadId = pad;
        Template = template;
    }

    public int? BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    public ChatTemplate Template { get; }

    /// <summary>Ids that end a generated answer: end of sequence, and the template's end-of-turn token when it has one.</summary>
    public IReadOnlyList<int> StopIds =>
        Template.EndOfTurn is { } turn && _specials.TryGetValue(turn, out var id) && id != EosId ? [EosId, id] : [EosId];

    public static TextTokenizer Load(string folder)
    {
        var config = ReadConfig(folder);
        var templateJinja = config?.TryGetProperty("chat_template", out var t) == true && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var template = ChatTemplate.Detect(templateJinja);
        var json = Path.Combine(folder, "tokenizer.json");
        var model = Path.Combine(folder, "tokenizer.model");
        if (File.Exists(json))
        {
            return FromTokenizerJson(json, config, template);
        }

        if (File.Exists(model))
        {
            using var stream = File.OpenRead(model);
            var sentencePiece = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
            var specials = new Dictionary<string, int>(StringComparer.Ordinal)
            {
                [sentencePiece.BeginningOfSentenceToken] = sentencePiece.BeginningOfSentenceId,
                [sentencePiece.EndOfSentenceToken] = sentencePiece.EndOfSentenceId,
            };
            return new TextTokenizer(sentencePiece, specials, sentencePiece.BeginningOfSentenceId, sentencePiece.EndOfSentenceId,
                sentencePiece.EndOfSentenceId, template);
        }

        throw new FileNotFoundException($"no tokenizer.json or tokenizer.model in {folder}");
    }

    private static TextTokenizer FromTokenizerJson(string path, JsonElement? config, ChatTemplate template)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        var modelElement = root.GetProperty("model");
        if (modelElement.GetProperty("type").GetString() != "BPE")
        {
            throw new NotSupportedException($"tokenizer.json model type '{modelElement.GetProperty("type").GetString()}' is not supported (BPE only)");
        }

        var vocab = modelElement.GetProperty("vocab").EnumerateObject().Select(p => KeyValuePair.Create(p.Name, p.Value.GetInt32())).ToList();
        var merges = modelElement.GetProperty("merges").EnumerateArray()
            .Select(m => m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!).ToList();
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added))
        {
            foreach (var token in added.EnumerateArray())
            {
                specials[token.GetProperty("content").GetString()!] = token.GetProperty("id").GetInt32();
            }
        }

        var pattern = SplitPattern(root) ?? ByteLevel.Gpt2Pattern();
        var options = new BpeOptions(vocab)
        {
            Merges = merges,
            SpecialTokens = specials,
            ByteLevel = true,
            PreTokenizer = new RegexPreTokenizer(pattern, specials),
        };
        var tokenizer = BpeTokenizer.Create(options);
        int? Special(string name) =>
            config?.TryGetProperty(name, out var value) == true
                ? (value.ValueKind == JsonValueKind.String ? value.GetString() : value.ValueKind == JsonValueKind.Object ? value.GetProperty("content").GetString() : null) is { } text
                    && specials.TryGetValue(text, out var id) ? id : null
                : null;
        var eos = Special("eos_token") ?? specials.Values.DefaultIfEmpty(0).Max();
        return new TextTokenizer(tokenizer, specials, Special("bos_token"), eos, Special("pad_token") ?? eos, template);
    }

    /// <summary>The Split regex of a Sequence pre-tokenizer (Llama 3 style), when the file has one.</summary>
    private static System.Text.RegularExpressions.Regex? SplitPattern(JsonElement root)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var candidates = pre.TryGetProperty("pretokenizers", out var list) ? list.EnumerateArray().ToList() : [pre];
        foreach (var candidate in candidates)
        {
            if (candidate.TryGetProperty("type", out var type) && type.GetString() == "Split"
                && candidate.TryGetProperty("pattern", out var pattern) && pattern.TryGetProperty("Regex", out var regex))
            {
                return new System.Text.RegularExpressions.Regex(regex.GetString()!, System.Text.RegularExpressions.RegexOptions.Compiled);
            }
        }

        return null;
    }

    private static JsonElement? ReadConfig(string folder)
    {
        var path = Path.Combine(folder, "tokenizer_config.json");
        return File.Exists(path) ? JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone() : null;
    }

    public int[] Encode(string text) => _tokenizer.EncodeToIds(text).ToArray();

    /// <summary>The chat prompt's ids, beginning-of-sequence first when the model uses one.</summary>
    public int[] EncodePrompt(IReadOnlyList<ChatMessage> messages)
    {
        var ids = Encode(Template.Render(messages));
        return BosId is { } bos && (ids.Length == 0 || ids[0] != bos) ? [bos, .. ids] : ids;
    }

    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids.Where(id => !IsSpecial(id))) ?? string.Empty;

    public bool IsSpecial(int id) => _specials.Values.Contains(id);

    public int VocabularySize => _tokenizer switch
    {
        BpeTokenizer bpe => bpe.Vocabulary.Count,
        SentencePieceTokenizer sp => sp.Vocabulary.Count,
        _ => 0,
    };
}
