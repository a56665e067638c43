using System.Net;
using System.Net.Sockets;

namespace Tao.Bench;

/// <summary>
/// A TCP forwarder that can be taken down and brought back on the same port, for fault injection: while down it
/// refuses new connections and has cut every open one, as a crashed or partitioned server would.
/// </summary>
public sealed class TcpToggleProxy : IAsyncDisposable
{
    private readonly IPEndPoint _target;
    private readonly Lock _gate = new();
    private readonly List<TcpClient> _open = [];
    private TcpListener? _listener;
    private CancellationTokenSource? _accepting;

    public TcpToggleProxy(int port, IPEndPoint target)
    {
        Port = port;
        _target = target;
        Up();
    }

    public int Port { get; }


    public void Up()
    {
        lock (_gate)
        {
            if (_listener is not null)
            {
                return;
            }

            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _accepting = new CancellationTokenSource();
            _ = AcceptAsync(listener, _accepting.Token);
        }
    }

    public void Down()
    {
        lock (_gate)
        {
            _accepting?.Cancel();
            _listener?.Stop();
            _listener = null;
            foreach (var client in _open)
            {
                client.Client.LingerState = new LingerOption(true, 0); // RST, not a polite close
                client.Dispose();
            }

            _open.Clear();
        }
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = PairAsync(inbound, cancellationToken);
        }
    }

    private async Task PairAsync(TcpClient inbound, CancellationToken cancellationToken)
    {
        var outbound = new TcpClient();
        lock (_gate)
        {
            _open.Add(inbound);
            _open.Add(outbound);
        }

        try
        {
            await outbound.ConnectAsync(_target, cancellationToken);
            var a = inbound.GetStream();
            var b = outbound.GetStream();
            await Task.WhenAny(a.CopyToAsync(b, cancellationToken), b.CopyToAsync(a, cancellationToken));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _open.Remove(inbound);
                _open.Remove(outbound);
            }

            inbound.Dispose();
            outbound.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Down();
        return ValueTask.CompletedTask;
    }
}
