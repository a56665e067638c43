using Tao.Gateway.Capture;
using Tao.Gateway.OpenAi;
using Tao.Gateway.Routing;

namespace Tao.Gateway.Proxy;

/// <summary>A request the gateway has accepted for proxying: its id, where it goes, and its capture (when on).</summary>
internal sealed class ProxyCall(Guid requestId, ApiSurface surface, ResolvedModel model, CaptureContext? capture)
{
    public Guid RequestId { get; } = requestId;

    /// <summary>The key's own x-ratelimit-* headers, put back after the upstream's are removed from the answer.</summary>
    public IReadOnlyDictionary<string, string>? RateLimitHeaders { get; init; }
    public ApiSurface Surface { get; } = surface;

    /// <summary>The model the current attempt goes to: the one requested, or a fallback (its credential is sent).</summary>
    public ResolvedModel Model { get; set; } = model;

    public CaptureContext? Capture { get; } = capture;

    /// <summary>The call's attempts and the retry / fallback decisions; null outside the proxy step.</summary>
    public AttemptPlan? Plan { get; set; }

    /// <summary>When the current attempt started (Stopwatch timestamp).</summary>
    public long AttemptStarted { get; private set; }

    /// <summary>The current attempt's entry in the record, once its outcome is known (its response headers, or its failure).</summary>
    public Tao.Capture.CaptureAttempt? Attempt { get; set; }

    /// <summary>
    /// Set when the response transform held back a retryable failure status (nothing of it reached the client) and the
    /// plan chose another attempt after <see cref="HeldAttempt.Delay"/>.
    /// </summary>
    public HeldAttempt? Held { get; set; }

    /// <summary>Set when the upstream's event stream broke off; the client's stream is then ended as failed.</summary>
    public bool UpstreamInterrupted { get; set; }

    /// <summary>Set when the gateway's whole-call deadline ended the call (not the client).</summary>
    public bool DeadlinePassed { get; set; }

    /// <summary>Clears what one attempt left behind before the next starts.</summary>
    public void BeginAttempt(ResolvedModel model, long started)
    {
        Model = model;
        AttemptStarted = started;
        Attempt = null;
        Held = null;
    }
}

/// <summary>A failure status held back from the client, and the wait before the next attempt.</summary>
internal sealed record HeldAttempt(int Status, TimeSpan Delay);
