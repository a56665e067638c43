using Microsoft.AspNetCore.Builder;

namespace Tao.Gateway.Tests;

/// <summary>A second gateway started by <see cref="GatewayFixture.StartReplicaAsync"/>; disposing it stops it (once, however often called).</summary>
public sealed class GatewayReplica(WebApplication app, Uri address) : IAsyncDisposable
{
    private int _disposed;

    public WebApplication App { get; } = app;

    public Uri Address { get; } = address;

    public IServiceProvider Services => App.Services;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}
