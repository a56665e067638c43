using System.Buffers;
using System.Text.Json;

namespace Tao.Capture;

/// <summary>
/// A buffer and a JSON writer over it that a thread keeps in a [ThreadStatic] slot of its caller's and reuses, for
/// JSON written on the request path (the capture record, the request's redacted copy): each call's bytes are written
/// with no new arrays. A buffer that grew for an unusually large value is dropped rather than kept by the thread.
/// </summary>
public sealed class ReusableJsonBuffer
{
    private const int KeptBufferBytes = 256 * 1024;

    private ReusableJsonBuffer(JsonWriterOptions options) => Json = new Utf8JsonWriter(Buffer, options);

    public ArrayBufferWriter<byte> Buffer { get; } = new(8 * 1024);

    public Utf8JsonWriter Json { get; }

    /// <summary>The thread's buffer in <paramref name="slot"/> (made with <paramref name="options"/> on first use), emptied.</summary>
    public static ReusableJsonBuffer Take(ref ReusableJsonBuffer? slot, JsonWriterOptions options)
    {
        var taken = slot ??= new ReusableJsonBuffer(options);
        taken.Buffer.ResetWrittenCount();
        taken.Json.Reset(taken.Buffer);
        return taken;
    }

    /// <summary>Forgets the thread's buffer once it grew past what is worth keeping.</summary>
    public static void Release(ref ReusableJsonBuffer? slot)
    {
        if (slot is not null && slot.Buffer.Capacity > KeptBufferBytes)
        {
            slot = null;
        }
    }
}
