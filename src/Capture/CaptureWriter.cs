using Tao.Capture.Spool;

namespace Tao.Capture;

/// <summary>
/// Appends capture records to the spool. Called on the request path: serialising the record and copying it into
/// the spool's shared mapping are all it costs; nothing here waits on a sink.
/// </summary>
public sealed class CaptureWriter(CaptureSpool spool, CaptureMetrics metrics)
{
    /// <summary>Returns false when the record was dropped because the spool's disk budget is exhausted.</summary>
    public bool Write(CaptureRecord record)
    {
        var payload = CaptureJson.Serialize(record);
        var position = spool.Append(record.RequestId, payload);
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
