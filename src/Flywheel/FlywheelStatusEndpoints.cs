using Tao.Trainer.Registry;

namespace Tao.Flywheel;

/// <summary>Status and history: groups (live version, new inputs, round in flight), rounds, versions; rollback and run-now need the admin key.</summary>
internal static class FlywheelStatusEndpoints
{
    public static void MapFlywheelStatus(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/flywheel");
        group.MapGet("/status", (FlywheelService service) => Results.Json(service.Status));
        group.MapGet("/rounds", async (string? group, FlywheelStore store, CancellationToken cancellationToken) =>
            Results.Json(await store.RoundsAsync(group, cancellationToken)));
        group.MapGet("/versions", (ModelRegistry registry) => Results.Json(registry.List()));
        group.MapGet("/versions/{id}/lineage", (string id, ModelRegistry registry) => Results.Json(registry.Lineage(id)));

        var admin = group.MapGroup("/groups");
        admin.AddEndpointFilter(async (context, next) =>
        {
            var options = context.HttpContext.RequestServices.GetRequiredService<FlywheelOptions>();
            var key = options.AdminKey ?? options.GatewayAdminKey;
            return !string.IsNullOrEmpty(key) && context.HttpContext.Request.Headers.Authorization.ToString() != $"Bearer {key}"
                ? Results.Json(new { error = new { message = "admin key required", type = "authentication_error", code = "invalid_admin_key" } }, statusCode: 401)
                : await next(context);
        });
        admin.MapPost("/{name}/rollback", async (string name, FlywheelOptions options, Promoter promoter, CancellationToken cancellationToken) =>
            options.Groups.TryGetValue(name, out var settings)
                ? Results.Json(new { live = await promoter.RollbackAsync(name, settings, cancellationToken) })
                : Results.NotFound());
        admin.MapPost("/{name}/run", async (string name, FlywheelService service, ILeadership leadership, CancellationToken cancellationToken) =>
            !leadership.IsLeader
                ? Results.Json(
                    new { error = new { message = $"{leadership.Identity} stands by; ask the leading flywheel instance", type = "invalid_request_error", code = "not_leader" } },
                    statusCode: 409)
                : Results.Json(await service.RunNowAsync(name, cancellationToken)));
    }
}
