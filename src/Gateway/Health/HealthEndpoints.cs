using Tao.Gateway.OpenAi;

namespace Tao.Gateway.Health;

/// <summary>/healthz: the process is alive. /readyz: upstreams and sinks reachable, spool not full (503 otherwise).</summary>
internal static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => OpenAiResults.Json(new HealthStatus("ok")));
        app.MapGet("/readyz", async (ReadinessMonitor monitor, CancellationToken cancellationToken) =>
        {
            var report = await monitor.ReportAsync(cancellationToken);
            return OpenAiResults.Json(report, statusCode: report.Ready ? 200 : 503);
        });
    }

    internal sealed record HealthStatus(string Status);
}
