using Tao.Gateway.Capture;
using Tao.Gateway.Routing;

namespace Tao.Gateway.Proxy;

/// <summary>A request the gateway has accepted for proxying: its id, where it goes, and its capture (when on).</summary>
internal sealed class ProxyCall(Guid requestId, ApiSurface surface, ResolvedModel model, CaptureContext? capture)
{
    public Guid RequestId { get; } = requestId;
    public ApiSurface Surface { get; } = surface;
    public ResolvedModel Model { get; } = model;
    public CaptureContext? Capture { get; } = capture;

    /// <summary>Set when the upstream's event stream broke off; the client's stream is then ended as failed.</summary>
    public bool UpstreamInterrupted { get; set; }

    /// <summary>Set when the gateway's whole-call deadline ended the call (not the client).</summary>
    public bool DeadlinePassed { get; set; }
}
