namespace Tao.Capture;

/// <summary>One upstream attempt of a call.</summary>
public sealed class CaptureAttempt
{
    /// <summary>The model-map entry tried.</summary>
    public string Model { get; set; } = string.Empty;

    public string Cluster { get; set; } = string.Empty;

    /// <summary>The destination address tried; empty when none was available (every one ejected).</summary>
    public string Upstream { get; set; } = string.Empty;

    /// <summary>The upstream's HTTP status; 0 when it gave none (refused, reset, timed out).</summary>
    public int Status { get; set; }

    /// <summary>
    /// Why the attempt failed: upstream_unreachable (refused, reset), upstream_timeout, no_healthy_upstream (every
    /// destination ejected), upstream_body_interrupted, http_503 and the like for a failure status; empty when it answered.
    /// </summary>
    public string Error { get; set; } = string.Empty;

    /// <summary>When the attempt started, in milliseconds after the call arrived.</summary>
    public double StartedMs { get; set; }

    /// <summary>From sending to the upstream's response headers, or to the failure.</summary>
    public double LatencyMs { get; set; }
}
