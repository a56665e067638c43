using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tao.Hosting;

namespace Tao.Storage.Embedded;

/// <summary>
/// Serves ClickHouse's HTTP interface from the embedded engine on a loopback port, so ordinary ClickHouse
/// clients (clickhouse-client over HTTP, Grafana, curl) can query the store. Only 127.0.0.1 is bound, and every
/// request but /ping must authenticate as one of <see cref="Credentials"/>: loopback is shared by every local process
/// and reachable from browser pages, and the store holds every captured prompt.
/// </summary>
internal sealed class EmbeddedClickHouseServer : IAsyncDisposable
{
    /// <summary>The longest URL accepted, as a server's default http_max_uri_size: clients send query parameters in it.</summary>
    public const int MaxUriBytes = 1024 * 1024;

    private readonly WebApplication _app;

    private EmbeddedClickHouseServer(WebApplication app, Uri endpoint, EmbeddedHttpCredentials credentials)
    {
        _app = app;
        Endpoint = endpoint;
        Credentials = credentials;
    }

    public Uri Endpoint { get; }

    /// <summary>The users the endpoint accepts.</summary>
    public EmbeddedHttpCredentials Credentials { get; }

    public static async Task<EmbeddedClickHouseServer> StartAsync(
        ChdbEngine engine, int port, EmbeddedHttpCredentials credentials, CancellationToken cancellationToken)
    {
        var builder = QuietWebHost.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = null;
            // Kestrel's defaults (8 KiB request line, 32 KiB of headers) answer 414 to URLs official clients send; a longer
            // line than "OPTIONS <1 MiB URI> HTTP/1.1" still gets 414. The buffer must hold a whole line and its headers.
            k.Limits.MaxRequestLineSize = MaxUriBytes + 32;
            k.Limits.MaxRequestHeadersTotalSize = MaxUriBytes;
            k.Limits.MaxRequestBufferSize = k.Limits.MaxRequestLineSize + k.Limits.MaxRequestHeadersTotalSize;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        var executor = new ClickHouseHttpExecutor(engine);
        app.Run(async context =>
        {
            var query = ChdbHttpHandler.ParseQuery(context.Request.QueryString.Value ?? string.Empty);
            var path = context.Request.Path.Value ?? "/";
            ClickHouseHttpResponse answer;
            if (IsHealthCheck(path))
            {
                answer = ClickHouseHttpResponse.Text(200, "Ok.\n"); // unauthenticated, as on a server: load balancers and probes
            }
            else if (EmbeddedHttpAuthentication.Authenticate(credentials, context.Request.Headers.Authorization.LastOrDefault(),
                         context.Request.Headers["X-ClickHouse-User"].LastOrDefault(), context.Request.Headers["X-ClickHouse-Key"].LastOrDefault(),
                         query, out var refusal) is not { } user)
            {
                answer = refusal!;
            }
            else
            {
                var call = new ClickHouseHttpRequest(
                    context.Request.Method, path, query, context.Request.Headers.ContentEncoding.LastOrDefault(), context.Request.Body, user.ReadOnly);
                try
                {
                    answer = await executor.ExecuteAsync(call, context.RequestAborted);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    answer = ClickHouseHttpResponse.Error(1001, e.Message);
                }
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
        return new EmbeddedClickHouseServer(app, new Uri(address), credentials);
    }

    private static bool IsHealthCheck(string path) => path.TrimEnd('/') is "/ping" or "/replicas_status";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
