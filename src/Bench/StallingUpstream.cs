using System.Net;
using System.Net.Sockets;

namespace Tao.Bench;

/// <summary>
/// An upstream that accepts connections, reads what it is sent, and never answers: a hung model server, for fault
/// injection. Callers see a connection that works and a response that never comes, so only their own timeout ends
/// the wait. Disposing it closes every connection.
/// </summary>
public sealed class StallingUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<TcpClient> _open = [];
    private int _accepted;

    public StallingUpstream()
    {
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _ = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            lock (_gate)
            {
                _open.Add(client);
            }

            _ = DrainAsync(client);
        }
    }

    private async Task DrainAsync(TcpClient client)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var stream = client.GetStream();
            while (await stream.ReadAsync(buffer, _stop.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_gate)
        {
            foreach (var client in _open)
            {
                client.Dispose();
            }

            _open.Clear();
        }

        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
