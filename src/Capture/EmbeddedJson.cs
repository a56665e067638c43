using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tao.Capture;

/// <summary>JSON text that a record embeds as a JSON value rather than as an escaped string (the capture record's request).</summary>
[JsonConverter(typeof(EmbeddedJsonConverter))]
public readonly record struct EmbeddedJson(string Text);

/// <summary>
/// Writes <see cref="EmbeddedJson"/> as an embedded JSON value, so Kafka consumers read the request as an object. The
/// text is always produced by the gateway's own JSON writer, so it is embedded without a second validation pass. Reads
/// an object back as its text, a string as itself (records written before it was embedded), null as "{}".
/// </summary>
internal sealed class EmbeddedJsonConverter : JsonConverter<EmbeddedJson>
{
    public override EmbeddedJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return new("{}");
        }

        if (reader.TokenType == JsonTokenType.String)
        {
            return new(reader.GetString() ?? "{}");
        }

        using var document = JsonDocument.ParseValue(ref reader);
        return new(document.RootElement.GetRawText());
    }

    public override void Write(Utf8JsonWriter writer, EmbeddedJson value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.Text is null or { Length: 0 } ? "null" : value.Text, skipInputValidation: true);
}
