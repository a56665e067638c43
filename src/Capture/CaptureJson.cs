using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tao.Capture;

/// <summary>The capture record's JSON form: snake_case names, the request embedded as a JSON object.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(CaptureRecord))]
public sealed partial class CaptureJson : JsonSerializerContext
{
    public static byte[] Serialize(CaptureRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, Default.CaptureRecord);

    public static CaptureRecord Deserialize(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, Default.CaptureRecord) ?? throw new JsonException("capture record is null");
}
