using System.Buffers;
using System.Text.Json;
using Tao.Capture.Spool;

namespace Tao.Capture;

/// <summary>
/// Appends capture records to the spool. Called on the request path: serialising the record and copying it into
/// the spool's shared mapping are all it costs; nothing here waits on a sink. The record is serialised into a buffer
/// each thread keeps and reuses, so its bytes are written once and copied once, into the mapping, with no array per call.
/// </summary>
public sealed class CaptureWriter(CaptureSpool spool, CaptureMetrics metrics)
{
    // A buffer that grew for an unusually large record is dropped rather than kept by the thread.
    private const int KeptBufferBytes = 256 * 1024;

    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Json)? t_serializer;

    /// <summary>Returns false when the record was dropped because the spool's disk budget is exhausted.</summary>
    public bool Write(CaptureRecord record)
    {
        var (buffer, json) = t_serializer ??= NewSerializer();
        buffer.ResetWrittenCount();
        json.Reset(buffer);
        long position;
        try
        {
            JsonSerializer.Serialize(json, record, CaptureJson.Default.CaptureRecord);
            json.Flush();
            position = spool.Append(record.RequestId, buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity > KeptBufferBytes)
            {
                t_serializer = null;
            }
        }

        if (position < 0)
        {
            metrics.Dropped.Add(1);
            return false;
        }

        metrics.Captured.Add(1);
        return true;
    }

    private static (ArrayBufferWriter<byte>, Utf8JsonWriter) NewSerializer()
    {
        var buffer = new ArrayBufferWriter<byte>(8 * 1024);
        return (buffer, new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }));
    }

    /// <summary>Appends feedback to the same spool, so it is as durable as the calls it rates.</summary>
    public bool Write(FeedbackRecord record)
    {
        var position = spool.Append(record.FeedbackId, FeedbackJson.Serialize(record));
        if (position < 0)
        {
            metrics.Dropped.Add(1);
            return false;
        }

        return true;
    }
}
