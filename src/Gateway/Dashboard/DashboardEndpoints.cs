using System.Reflection;
using Tao.Gateway.Auth;

namespace Tao.Gateway.Dashboard;

/// <summary>
/// /dashboard: one page of plain HTML, CSS and JavaScript shipped inside the gateway (no front-end build, no CDN),
/// reading /admin/analytics with the session cookie. Without a session it shows the login form.
/// </summary>
internal static class DashboardEndpoints
{
    private static readonly Assembly s_assembly = typeof(DashboardEndpoints).Assembly;

    public static void MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/dashboard", (HttpContext context, DashboardSession session) =>
            session.IsValid(context.Request.Cookies[DashboardSession.CookieName]) ? Asset("dashboard.html") : Asset("login.html"));

        app.MapGet("/dashboard/{file}", (string file) => file is "app.js" or "app.css" ? Asset(file) : Results.NotFound());

        app.MapPost("/dashboard/login", async (HttpContext context, ApiKeyStore keys, DashboardSession session) =>
        {
            var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
            var key = form?["key"].ToString() ?? string.Empty;
            if (key.Length == 0 || key.Length > 512 || !keys.IsAdmin(key))
            {
                context.Response.StatusCode = 401;
                return Asset("login.html", error: true);
            }

            // Secure whenever the browser reached us over HTTPS, directly or through a TLS proxy the gateway trusts
            // (Tao:Gateway:ForwardedHeaders makes Request.Scheme reflect X-Forwarded-Proto from known proxies only).
            context.Response.Cookies.Append(DashboardSession.CookieName, session.Issue(), new CookieOptions
            {
                HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = context.Request.IsHttps, Path = "/", MaxAge = session.Lifetime,
            });
            return Results.Redirect("/dashboard", permanent: false);
        }).DisableAntiforgery();

        app.MapPost("/dashboard/logout", (HttpContext context, DashboardSession session) =>
        {
            session.Revoke(context.Request.Cookies[DashboardSession.CookieName]);
            context.Response.Cookies.Delete(DashboardSession.CookieName, new CookieOptions { Path = "/" });
            return Results.Redirect("/dashboard", permanent: false);
        }).DisableAntiforgery();
    }

    private static IResult Asset(string name, bool error = false)
    {
        using var stream = s_assembly.GetManifestResourceStream("dashboard/" + name) ?? throw new InvalidOperationException($"missing dashboard asset {name}");
        using var reader = new StreamReader(stream);
        var text = reader.ReadToEnd();
        if (name == "login.html")
        {
            text = text.Replace("<!--error-->", error ? "<p class=\"error\" role=\"alert\">That is not the admin key.</p>" : string.Empty, StringComparison.Ordinal);
        }

        var type = Path.GetExtension(name) switch
        {
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            _ => "text/html; charset=utf-8",
        };
        return Results.Text(text, type);
    }
}
