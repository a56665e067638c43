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
    private static readonly JsonWriterOptions s_options = new() { SkipValidation = true };

    [ThreadStatic]
    private static ReusableJsonBuffer? t_serializer;

    /// <summary>Returns false when the record was dropped because the spool's disk budget is exhausted.</summary>
    public bool Write(CaptureRecord record)
    {
        var serializer = ReusableJsonBuffer.Take(ref t_serializer, s_options);
        long position;
        try
        {
            JsonSerializer.Serialize(serializer.Json, record, CaptureJson.Default.CaptureRecord);
            serializer.Json.Flush();
            position = spool.Append(record.RequestId, serializer.Buffer.WrittenSpan);
        }
        finally
        {
            ReusableJsonBuffer.Release(ref t_serializer);
        }

        if (position < 0)
        {
            metrics.Dropped.Add(1);
            return false;
        }

        metrics.Captured.Add(1);
        return true;
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
