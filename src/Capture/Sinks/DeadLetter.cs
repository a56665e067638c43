using System.Text.Json.Serialization;

namespace Tao.Capture.Sinks;

/// <summary>A record a sink rejected permanently, as one line of spool/deadletter/&lt;sink&gt;.jsonl.</summary>
internal sealed record DeadLetter(long Position, Guid Key, string Reason, string PayloadBase64);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(DeadLetter))]
internal sealed partial class DeadLetterJson : JsonSerializerContext;
