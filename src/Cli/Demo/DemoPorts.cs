using System.Net;
using System.Net.Sockets;

namespace Tao.Cli.Demo;

internal static class DemoPorts
{
    /// <summary>The preferred port when it is free on 127.0.0.1, else any free one.</summary>
    public static int Pick(int preferred)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, preferred);
            listener.Start();
            return preferred;
        }
        catch (SocketException)
        {
            using var any = new TcpListener(IPAddress.Loopback, 0);
            any.Start();
            return ((IPEndPoint)any.LocalEndpoint).Port;
        }
    }
}
