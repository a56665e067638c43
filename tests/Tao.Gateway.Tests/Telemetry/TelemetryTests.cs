using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using OpenAI.Chat;

namespace Tao.Gateway.Tests.Telemetry;

/// <summary>An OTLP/HTTP collector stand-in on loopback: keeps every export body by signal, answers as a collector does.</summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpReceiver(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }
    public ConcurrentQueue<(string Signal, byte[] Body)> Exports { get; } = new();

    public static OtlpReceiver Start()
    {
        OtlpReceiver? receiver = null;
        // Started from a static initializer, hence synchronously (the host starts without the caller's context).
        var (app, address) = Tao.Bench.LoopbackHost.StartAsync(app => app.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            receiver!.Exports.Enqueue((signal, buffer.ToArray()));
            return Results.Bytes([], "application/x-protobuf"); // an empty Export*ServiceResponse
        })).GetAwaiter().GetResult();
        receiver = new OtlpReceiver(app, address);
        return receiver;
    }

    public bool Received(string signal, string text) =>
        Exports.Any(e => e.Signal == signal && Encoding.UTF8.GetString(e.Body).Contains(text, StringComparison.Ordinal));

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

public sealed class OtlpGatewayFixture() : GatewayFixture(new Dictionary<string, string?>
{
    ["Tao:Telemetry:OtlpEndpoint"] = Receiver.Address.ToString(),
    ["Tao:Telemetry:ExportIntervalMs"] = "500",
})
{
    public static OtlpReceiver Receiver { get; } = OtlpReceiver.Start();
}

/// <summary>GenAI metrics on the Prometheus endpoint; metrics, traces and logs over OTLP; trace context to the upstream.</summary>
public sealed class TelemetryTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task Prometheus_ServesGenAiAndCaptureMetrics()
    {
        var chat = gateway.Chat("support-bot");
        await chat.CompleteChatAsync([new UserChatMessage("metrics please")]);
        await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("streamed metrics please")]))
        {
        }

        using var http = gateway.Http(null); // scrapers carry no key
        var text = string.Empty;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            text = await http.GetStringAsync("/metrics");
            if (text.Contains("gen_ai_server_time_to_first_token", StringComparison.Ordinal) && text.Contains("gen_ai_token_type=\"output\"", StringComparison.Ordinal))
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.Contains("gen_ai_client_token_usage_bucket{", text);
        Assert.Contains("gen_ai_token_type=\"input\"", text);
        Assert.Contains("gen_ai_token_type=\"output\"", text);
        Assert.Contains("gen_ai_request_model=\"support-bot\"", text);
        Assert.Contains("tao_alias=\"support-bot\"", text);
        Assert.Contains("gen_ai_operation_name=\"chat\"", text);
        Assert.Contains("gen_ai_client_operation_duration_seconds_bucket{", text);
        Assert.Contains("gen_ai_server_time_to_first_token_seconds_bucket{", text);
        Assert.Contains("gen_ai_server_time_per_output_token_seconds_bucket{", text);
        Assert.Contains("tao_spool_size_bytes", text);
        Assert.Contains("tao_spool_dropped_too_large", text); // reported, not only counted
        Assert.Contains("tao_sink_lag_bytes{", text);
        Assert.Contains("tao_capture_records_total", text);
        Assert.DoesNotContain(GatewayFixture.ApiKey, text);
    }
}

public sealed class OtlpTelemetryTests(OtlpGatewayFixture gateway) : IClassFixture<OtlpGatewayFixture>
{
    [Fact]
    public async Task Otlp_ReceivesMetricsTracesAndLogs_AndTheUpstreamGetsTheTraceContext()
    {
        var before = gateway.Upstream.Received.Count;
        await gateway.Chat("support-bot").CompleteChatAsync([new UserChatMessage("traced call")]);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        var receiver = OtlpGatewayFixture.Receiver;
        while (DateTime.UtcNow < deadline
               && !(receiver.Received("traces", "gen_ai.request.model") && receiver.Received("metrics", "gen_ai.client.token.usage")
                    && receiver.Exports.Any(e => e.Signal == "logs")))
        {
            await Task.Delay(200);
        }

        Assert.True(receiver.Received("metrics", "gen_ai.client.token.usage"), "no GenAI metrics exported");
        Assert.True(receiver.Received("traces", "gen_ai.request.model"), "no server span with GenAI attributes exported");
        Assert.True(receiver.Received("traces", "support-bot"));
        Assert.True(receiver.Received("traces", "tao.request_id"));
        Assert.Contains(receiver.Exports, e => e.Signal == "logs");

        var forwarded = gateway.Upstream.Received.Skip(before).Last();
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", forwarded.Headers["traceparent"]);
    }
}
