using System.Diagnostics.Metrics;

namespace Tao.Capture;

/// <summary>Instruments of the capture pipeline (meter "Tao.Capture").</summary>
public sealed class CaptureMetrics
{
    public const string MeterName = "Tao.Capture";

    public CaptureMetrics(IMeterFactory meterFactory)
    {
        Meter = meterFactory.Create(MeterName);
        Captured = Meter.CreateCounter<long>("tao.capture.records", "{record}", "Capture records appended to the spool");
        Dropped = Meter.CreateCounter<long>("tao.capture.dropped", "{record}", "Capture records dropped because the spool's disk budget was exhausted");
    }

    public Meter Meter { get; }
    public Counter<long> Captured { get; }
    public Counter<long> Dropped { get; }
}
