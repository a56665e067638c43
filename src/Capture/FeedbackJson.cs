using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tao.Capture;

/// <summary>The feedback record's JSON form (snake_case, like the capture record's).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(FeedbackRecord))]
internal sealed partial class FeedbackJson : JsonSerializerContext
{
    private static ReadOnlySpan<byte> Marker => "{\"kind\":\"feedback\""u8;

    public static byte[] Serialize(FeedbackRecord record) => JsonSerializer.SerializeToUtf8Bytes(record, Default.FeedbackRecord);

    public static FeedbackRecord Deserialize(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, Default.FeedbackRecord) ?? throw new JsonException("feedback record is null");

    /// <summary>True when a spooled payload is a feedback record rather than a capture record.</summary>
    public static bool IsFeedback(ReadOnlySpan<byte> payload) => payload.StartsWith(Marker);
}
