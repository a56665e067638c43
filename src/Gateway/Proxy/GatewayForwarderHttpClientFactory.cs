using Yarp.ReverseProxy.Forwarder;

namespace Tao.Gateway.Proxy;

/// <summary>YARP's upstream client, with the stream guard in its handler chain.</summary>
internal sealed class GatewayForwarderHttpClientFactory : ForwarderHttpClientFactory
{
    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
        new UpstreamStreamGuard(base.WrapHandler(context, handler));
}
