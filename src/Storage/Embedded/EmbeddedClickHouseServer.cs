using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tao.Hosting;

namespace Tao.Storage.Embedded;

/// <summary>
/// Serves ClickHouse's HTTP interface from the embedded engine on a loopback port, so ordinary ClickHouse
/// clients (clickhouse-client over HTTP, Grafana, curl) can query the store. Only 127.0.0.1 is bound.
/// </summary>
public sealed class EmbeddedClickHouseServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmbeddedClickHouseServer(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public static async Task<EmbeddedClickHouseServer> StartAsync(ChdbEngine engine, int port, CancellationToken cancellationToken)
    {
        var builder = QuietWebHost.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = null;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        var executor = new ClickHouseHttpExecutor(engine);
        app.Run(async context =>
        {
            var query = ChdbHttpHandler.ParseQuery(context.Request.QueryString.Value ?? string.Empty);
            var call = new ClickHouseHttpRequest(
                context.Request.Method, context.Request.Path.Value ?? "/", query,
                context.Request.Headers.ContentEncoding.LastOrDefault(), context.Request.Body);
            ClickHouseHttpResponse answer;
            try
            {
                answer = await executor.ExecuteAsync(call, context.RequestAborted);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                answer = ClickHouseHttpResponse.Error(1001, e.Message);
            }

            using var owned = answer;
            context.Response.StatusCode = answer.Status;
            context.Response.ContentType = answer.ContentType;
            foreach (var (name, value) in answer.Headers)
            {
                context.Response.Headers[name] = value;
            }

            context.Response.ContentLength = answer.Body.Length;
            await context.Response.Body.WriteAsync(answer.Body.ToArray(), context.RequestAborted);
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!;
        var address = addresses.Addresses.First();
        return new EmbeddedClickHouseServer(app, new Uri(address));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
