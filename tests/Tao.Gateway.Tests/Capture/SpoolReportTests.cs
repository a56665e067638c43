using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tao.Gateway.Telemetry;

namespace Tao.Gateway.Tests.Capture;

/// <summary>What the spool counts, the operator sees: a record too large for a segment is dropped, and both reports say so.</summary>
public sealed class SpoolReportTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task ARecordLargerThanASegment_IsDropped_AndReportedOnAdminCaptureAndMetrics()
    {
        // The smallest segment the spool allows (64 KiB), and a body limit that lets a 100 KB prompt through.
        await using var replica = await gateway.StartReplicaAsync("gw-too-large", new()
        {
            ["Tao:Capture:Spool:SegmentBytes"] = (64 * 1024).ToString(),
            ["Tao:Gateway:MaxRequestBodyBytes"] = (1024 * 1024).ToString(),
        });
        using var caller = new HttpClient { BaseAddress = replica.Address, Timeout = TimeSpan.FromSeconds(30) };
        caller.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.ApiKey);
        using var admin = new HttpClient { BaseAddress = replica.Address, Timeout = TimeSpan.FromSeconds(30) };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", GatewayFixture.AdminKey);

        Assert.Equal((0, 0), await SpoolDropsAsync(admin));
        Assert.Equal(0, DroppedTooLargeOnTheMeter(replica));

        var body = $$"""{"model":"base-model","messages":[{"role":"user","content":"{{new string('a', 100_000)}}"}]}""";
        using var answer = await caller.SendAsync(GatewayCalls.Json("/v1/chat/completions", body));
        Assert.Equal(200, (int)answer.StatusCode); // the call is answered; only its record is lost

        Assert.Equal((1, 1), await SpoolDropsAsync(admin));
        Assert.Equal(1, DroppedTooLargeOnTheMeter(replica));
    }

    private static async Task<(long Dropped, long DroppedTooLarge)> SpoolDropsAsync(HttpClient admin)
    {
        using var document = JsonDocument.Parse(await admin.GetStringAsync("/admin/capture"));
        var spool = document.RootElement.GetProperty("spool");
        return (spool.GetProperty("dropped").GetInt64(), spool.GetProperty("dropped_too_large").GetInt64());
    }

    /// <summary>
    /// What this gateway's meter reports for tao.spool.dropped_too_large, the instrument /metrics exports (TelemetryTests
    /// checks the export). Read from the meter of the replica's own IMeterFactory: the test process runs many gateways, and
    /// a Prometheus scrape here would mix theirs.
    /// </summary>
    private static long DroppedTooLargeOnTheMeter(GatewayReplica replica)
    {
        var factory = replica.Services.GetRequiredService<IMeterFactory>();
        _ = replica.Services.GetRequiredService<GatewayMetrics>(); // its instruments exist once it does
        long? value = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == GatewayMetrics.MeterName && instrument.Name == "tao.spool.dropped_too_large")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, measurement, _, _) => value = measurement);
        listener.Start();
        listener.RecordObservableInstruments();
        Assert.True(value is not null, "the gateway's meter has no tao.spool.dropped_too_large");
        return value.Value;
    }
}
