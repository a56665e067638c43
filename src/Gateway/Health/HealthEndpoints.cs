namespace Tao.Gateway.Health;

/// <summary>/healthz: the process is alive. /readyz: upstreams and sinks reachable, spool not full (503 otherwise).</summary>
internal static class HealthEndpoints
{
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        app.MapGet("/readyz", async (ReadinessMonitor monitor, CancellationToken cancellationToken) =>
        {
            var report = await monitor.ReportAsync(cancellationToken);
            return Results.Json(report, statusCode: report.Ready ? 200 : 503);
        });
    }
}
