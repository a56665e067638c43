using System.Text.Json.Serialization;

namespace Tao.Trainer.Model;

/// <summary>Rotary scaling of Llama 3.x checkpoints ("rope_type": "llama3"); other types are refused at load.</summary>
public sealed class RopeScaling
{
    [JsonPropertyName("rope_type")] public string? RopeType { get; set; }
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("factor")] public double Factor { get; set; } = 1;
    [JsonPropertyName("low_freq_factor")] public double LowFreqFactor { get; set; } = 1;
    [JsonPropertyName("high_freq_factor")] public double HighFreqFactor { get; set; } = 4;
    [JsonPropertyName("original_max_position_embeddings")] public int OriginalMaxPositionEmbeddings { get; set; } = 8192;

    [JsonIgnore] public string Kind => RopeType ?? Type ?? "default";
}
