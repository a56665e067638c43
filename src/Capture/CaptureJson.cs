using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tao.Capture;

/// <summary>The capture record's JSON form: snake_case names, the request embedded as a JSON object.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(CaptureRecord))]
[JsonSerializable(typeof(List<CaptureAttempt>))]
[JsonSerializable(typeof(List<CaptureToolCall>))]
[JsonSerializable(typeof(List<CaptureLogProb>))]
[JsonSerializable(typeof(List<string>))]
public sealed partial class CaptureJson : JsonSerializerContext
{
    public static byte[] Serialize(CaptureRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, Default.CaptureRecord);

    /// <summary>The attempts as the JSON array the captures table's attempts column holds.</summary>
    public static string Serialize(List<CaptureAttempt> attempts) => JsonSerializer.Serialize(attempts, Default.ListCaptureAttempt);

    /// <summary>The tool calls as the JSON array the captures table's tool_calls column holds.</summary>
    public static string Serialize(List<CaptureToolCall> toolCalls) => JsonSerializer.Serialize(toolCalls, Default.ListCaptureToolCall);

    /// <summary>The choices as the JSON array the captures table's choices column holds.</summary>
    public static string Serialize(List<string> choices) => JsonSerializer.Serialize(choices, Default.ListString);

    /// <summary>The log-probabilities as the JSON array the captures table's logprobs column holds.</summary>
    public static string Serialize(List<CaptureLogProb> logProbs) => JsonSerializer.Serialize(logProbs, Default.ListCaptureLogProb);

    public static CaptureRecord Deserialize(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, Default.CaptureRecord) ?? throw new JsonException("capture record is null");
}
