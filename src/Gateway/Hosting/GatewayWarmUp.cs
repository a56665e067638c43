using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Tao.Hosting;
using Tao.Storage;

namespace Tao.Gateway.Hosting;

/// <summary>
/// Warms a new gateway process before it listens. .NET compiles a method quickly first and fully optimised only after it
/// has been called often (tiered JIT), so a fresh process served at a third of its warm throughput for its first seconds
/// under load, and reached 90 % after ~10 s (docs/benchmarks.md, cold start). Here a throwaway gateway built by the same
/// code — its own loopback port, spool and state folders, no sinks, no state sync, anonymous — proxies calls from an
/// in-process client to an in-process upstream (plain and streamed chat completions, captured into its spool) for a few
/// seconds; the compiled code is the process's, so the real gateway starts on it. Nothing the warm-up does reaches the
/// store, the sinks, the configured upstreams or the real gateway's metrics, and its folders are deleted. Until it ends
/// the process does not listen, so /healthz and /readyz answer only once it serves at speed.
/// </summary>
public static class GatewayWarmUp
{
    /// <summary>
    /// Calls made (of them streamed, and failed: not 200 or cut short), how long, calls in the last whole second, the
    /// throwaway gateway's spool position at the end (records it captured, in its own position units), and its folder
    /// (deleted by then).
    /// </summary>
    public sealed record Result(int Calls, int Streamed, int Failed, TimeSpan Elapsed, int LastSecondCalls, long Captured, string Folder);

    private const string Model = "tao-warm-up";

    // Written with single quotes for readability; they become JSON's double quotes.
    private static readonly string s_answer = (
        "{'id':'chatcmpl-warm-up','object':'chat.completion','created':1764633600,'model':'tao-warm-up','choices':[{'index':0,'message':" +
        "{'role':'assistant','content':'one two three four five six seven eight nine ten'},'finish_reason':'stop'}]," +
        "'usage':{'prompt_tokens':12,'completion_tokens':10,'total_tokens':22}}").Replace('\'', '"');

    private static readonly string s_stream = (string.Concat("one two three four five".Split(' ').Select(word =>
            "data: {'id':'chatcmpl-warm-up','object':'chat.completion.chunk','created':1764633600,'model':'tao-warm-up'," +
            $"'choices':[{{'index':0,'delta':{{'content':'{word} '}},'finish_reason':null}}]}}\n\n"))
        + "data: {'id':'chatcmpl-warm-up','object':'chat.completion.chunk','created':1764633600,'model':'tao-warm-up'," +
        "'choices':[{'index':0,'delta':{},'finish_reason':'stop'}],'usage':{'prompt_tokens':12,'completion_tokens':5,'total_tokens':17}}\n\n" +
        "data: [DONE]\n\n").Replace('\'', '"');

    /// <summary>Runs the warm-up for <paramref name="duration"/> with <paramref name="connections"/> concurrent callers.</summary>
    public static async Task<Result> RunAsync(ClickHouseStore store, TimeSpan duration, int connections, CancellationToken cancellationToken)
    {
        var work = Directory.CreateTempSubdirectory("tao-warm-up-");
        try
        {
            await using var upstream = await StartUpstreamAsync(cancellationToken);
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "None",
                ["Tao:Gateway:Urls"] = "http://127.0.0.1:0",
                ["Tao:Gateway:InstanceId"] = "warm-up",
                ["Tao:Gateway:StatePath"] = Path.Combine(work.FullName, "gateway"),
                ["Tao:Gateway:StateSyncSeconds"] = "0",
                ["Tao:Auth:AllowAnonymous"] = "true",
                ["Tao:Capture:Spool:Path"] = Path.Combine(work.FullName, "spool"),
                ["Tao:Capture:ClickHouse:Enabled"] = "false",
                ["Tao:Capture:Kafka:Enabled"] = "false",
                [$"Tao:Models:{Model}:Cluster"] = Model,
                [$"ReverseProxy:Clusters:{Model}:Destinations:d1:Address"] = Address(upstream) + "/",
            }).Build();
            Result result;
            await using (var gateway = GatewayApp.Build(configuration, store))
            {
                await gateway.StartAsync(cancellationToken);
                try
                {
                    result = await DriveAsync(new Uri(Address(gateway)), duration, connections, cancellationToken);
                }
                finally
                {
                    await gateway.StopAsync(CancellationToken.None);
                }

                result = result with { Captured = gateway.Services.GetRequiredService<Tao.Capture.Spool.CaptureSpool>().End, Folder = work.FullName };
            }

            return result;
        }
        finally
        {
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
                // a temporary folder left behind is not worth failing a start over
            }
        }
    }

    private static async Task<Result> DriveAsync(Uri gateway, TimeSpan duration, int connections, CancellationToken cancellationToken)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections, UseProxy = false }) { BaseAddress = gateway };
        var clock = Stopwatch.StartNew();
        int calls = 0, streamed = 0, failed = 0;
        var perSecond = new int[(int)Math.Ceiling(duration.TotalSeconds) + 1];
        async Task CallerAsync(int caller)
        {
            for (var call = 0; call == 0 || clock.Elapsed < duration; call++) // every caller at least once, however slow the machine
            {
                cancellationToken.ThrowIfCancellationRequested();
                var stream = (call + caller) % 4 == 0; // a quarter streamed
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
                {
                    Content = new StringContent(
                        $$"""{"model":"{{Model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"system","content":"You answer briefly."},""" +
                        $$"""{"role":"user","content":"Warm-up call {{call}} of caller {{caller}}: count to ten."}]}""",
                        Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
                };
                try
                {
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                    var body = await response.Content.ReadAsStringAsync(cancellationToken);
                    if (!response.IsSuccessStatusCode || (stream ? !body.EndsWith("data: [DONE]\n\n", StringComparison.Ordinal) : !body.Contains("chatcmpl-warm-up", StringComparison.Ordinal)))
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref failed);
                }

                Interlocked.Increment(ref calls);
                if (stream)
                {
                    Interlocked.Increment(ref streamed);
                }

                var second = (int)clock.Elapsed.TotalSeconds;
                if (second < perSecond.Length)
                {
                    Interlocked.Increment(ref perSecond[second]);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, connections).Select(CallerAsync));
        var last = Math.Clamp((int)duration.TotalSeconds - 1, 0, perSecond.Length - 1);
        return new Result(calls, streamed, failed, clock.Elapsed, perSecond[last], 0, string.Empty);
    }

    private static async Task<WebApplication> StartUpstreamAsync(CancellationToken cancellationToken)
    {
        var builder = QuietWebHost.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var answer = Encoding.UTF8.GetBytes(s_answer);
        var stream = Encoding.UTF8.GetBytes(s_stream);
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var body = new StreamReader(context.Request.Body);
            var text = await body.ReadToEndAsync(context.RequestAborted);
            var streamed = text.Contains("\"stream\":true", StringComparison.Ordinal) || text.Contains("\"stream\": true", StringComparison.Ordinal);
            context.Response.ContentType = streamed ? "text/event-stream" : "application/json";
            await context.Response.Body.WriteAsync(streamed ? stream : answer, context.RequestAborted);
        });
        await app.StartAsync(cancellationToken);
        return app;
    }

    private static string Address(WebApplication app) => GatewayHost.AddressesOf(app)[0];
}
