using Microsoft.Extensions.Options;
using Tao.Hosting;

namespace Tao.Serving;

/// <summary>Builds the model server: an OpenAI-compatible API over the project's checkpoints, plus an admin API to load versions.</summary>
public static class ModelServerApp
{
    public static WebApplication Build(IConfiguration configuration, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = QuietWebHost.CreateSlimBuilder();
        builder.Configuration.AddConfiguration(configuration);
        var options = configuration.GetSection(ModelServerOptions.Section).Get<ModelServerOptions>() ?? new ModelServerOptions();
        builder.WebHost.UseUrls(options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.Services.AddOptions<ModelServerOptions>().Bind(configuration.GetSection(ModelServerOptions.Section));
        builder.Services.AddSingleton<ModelHost>();
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapServing();
        var admin = app.MapGroup("/admin");
        admin.AddEndpointFilter(async (context, next) =>
        {
            var key = context.HttpContext.RequestServices.GetRequiredService<IOptions<ModelServerOptions>>().Value.AdminKey;
            var presented = context.HttpContext.Request.Headers.Authorization.ToString();
            return string.IsNullOrEmpty(key) || presented != $"Bearer {key}"
                ? Results.Json(new { error = new { message = "admin key required", type = "authentication_error", code = "invalid_admin_key" } }, statusCode: 401)
                : await next(context);
        });
        admin.MapPut("/models/{name}", (string name, LoadRequest request, ModelHost host) =>
        {
            try
            {
                host.Load(name, request.Path);
                return Results.Json(new { loaded = name, models = host.Names });
            }
            catch (Exception e) when (e is IOException or InvalidDataException or KeyNotFoundException)
            {
                return Results.Json(new { error = new { message = e.Message, type = "invalid_request_error", code = "load_failed" } }, statusCode: 400);
            }
        });
        admin.MapDelete("/models/{name}", (string name, ModelHost host) => host.Unload(name) ? Results.NoContent() : Results.NotFound());
        admin.MapGet("/stats", (ModelHost host) => Results.Json(host.Names.ToDictionary(n => n, n => new { mean_batch = host.MeanBatchSize(n) })));
        return app;
    }

    internal sealed record LoadRequest(string Path);
}
