using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tao.Trainer.Model;

/// <summary>A Llama-family architecture, read from and written to a Hugging Face config.json.</summary>
public sealed class LlamaConfig
{
    [JsonPropertyName("architectures")] public string[] Architectures { get; set; } = ["LlamaForCausalLM"];
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "llama";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; }
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; }
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; }
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; }
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; set; }
    [JsonPropertyName("head_dim")] public int? HeadDimOverride { get; set; }
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 2048;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; set; } = 1e-5;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; set; } = 10000;
    [JsonPropertyName("rope_scaling")] public RopeScaling? RopeScaling { get; set; }
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; set; }
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; set; }
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; set; }
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; set; }
    [JsonPropertyName("eos_token_id")] public JsonElement? EosTokenIdRaw { get; set; }
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; set; }
    [JsonPropertyName("torch_dtype")] public string TorchDtype { get; set; } = "float32";
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "silu";

    [JsonIgnore] public int KeyValueHeads => NumKeyValueHeads ?? NumAttentionHeads;
    [JsonIgnore] public int HeadDim => HeadDimOverride ?? HiddenSize / NumAttentionHeads;

    /// <summary>End-of-sequence ids: config.json gives one id or a list.</summary>
    [JsonIgnore]
    public IReadOnlyList<int> EosTokenIds
    {
        get => EosTokenIdRaw switch
        {
            { ValueKind: JsonValueKind.Number } n => [n.GetInt32()],
            { ValueKind: JsonValueKind.Array } a => a.EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            _ => [],
        };
        set => EosTokenIdRaw = JsonSerializer.SerializeToElement(value.Count == 1 ? (object)value[0] : value);
    }

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static LlamaConfig Load(string path)
    {
        var config = JsonSerializer.Deserialize<LlamaConfig>(File.ReadAllText(path), s_json) ?? throw new InvalidDataException($"{path} is empty");
        config.Validate();
        return config;
    }

    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, s_json));

    public void Validate()
    {
        if (VocabSize <= 0 || HiddenSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 || IntermediateSize <= 0)
        {
            throw new InvalidDataException("config.json needs vocab_size, hidden_size, intermediate_size, num_hidden_layers and num_attention_heads");
        }

        if (NumAttentionHeads % KeyValueHeads != 0)
        {
            throw new InvalidDataException("num_attention_heads must be a multiple of num_key_value_heads");
        }

        if (HiddenAct != "silu")
        {
            throw new NotSupportedException($"hidden_act '{HiddenAct}' is not supported (Llama uses silu)");
        }
    }
}
