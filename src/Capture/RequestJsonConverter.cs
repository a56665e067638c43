using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tao.Capture;

/// <summary>
/// Writes <see cref="CaptureRecord.RequestJson"/> as an embedded JSON value rather than an escaped string,
/// so Kafka consumers read the request as an object. The text is always produced by the gateway's own
/// JSON writer, so it is embedded without a second validation pass.
/// </summary>
internal sealed class RequestJsonConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return "{}";
        }

        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        using var document = JsonDocument.ParseValue(ref reader);
        return document.RootElement.GetRawText();
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        writer.WriteRawValue(value.Length == 0 ? "null" : value, skipInputValidation: true);
    }
}
