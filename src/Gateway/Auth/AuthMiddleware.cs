using Microsoft.Extensions.Options;
using Tao.Gateway.OpenAi;

namespace Tao.Gateway.Auth;

/// <summary>
/// /v1 needs a gateway API key (unless anonymous use is explicitly allowed); /admin needs the admin key.
/// Keys arrive as "Authorization: Bearer ..." or an "api-key" header, and on /v1 also as "x-api-key", the header
/// Anthropic's SDKs send (they send a bearer token when given one instead). The key never travels further.
/// </summary>
internal sealed class AuthMiddleware(RequestDelegate next, ApiKeyStore keys, IOptionsMonitor<AuthOptions> options, DashboardSession session)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments("/admin"))
        {
            var presented = PresentedKey(context.Request);
            if (presented is null && HttpMethods.IsGet(context.Request.Method) && path.StartsWithSegments("/admin/analytics")
                && session.IsValid(context.Request.Cookies[DashboardSession.CookieName]))
            {
                await next(context); // the dashboard's read-only session
                return;
            }

            if (presented is null)
            {
                await OpenAiError.TryWriteAsync(context, 401, "The admin API needs the admin key as 'Authorization: Bearer <key>'.",
                    OpenAiError.Authentication, "missing_admin_key");
                return;
            }

            if (!keys.IsAdmin(presented))
            {
                await OpenAiError.TryWriteAsync(context, 403, "The key given is not the admin key.", OpenAiError.Permission, "invalid_admin_key");
                return;
            }
        }
        else if (path.StartsWithSegments("/v1"))
        {
            var presented = PresentedKey(context.Request) ?? Header(context.Request, ApiHeaders.XApiKey);
            if (presented is null)
            {
                if (!options.CurrentValue.AllowAnonymous)
                {
                    await OpenAiError.TryWriteAsync(context, 401,
                        "You didn't provide an API key. Send your gateway key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
                        OpenAiError.InvalidRequest, "missing_api_key");
                    return;
                }

                context.Features.Set(Caller.Anonymous);
            }
            else if (keys.Find(presented) is { } key)
            {
                context.Features.Set(new Caller(key));
            }
            else if (path.StartsWithSegments("/v1/feedback") && keys.IsAdmin(presented))
            {
                context.Features.Set(Caller.AdminCaller); // the admin may rate any call
            }
            else
            {
                await OpenAiError.TryWriteAsync(context, 401, "Incorrect API key provided.", OpenAiError.InvalidRequest, "invalid_api_key");
                return;
            }
        }

        await next(context);
    }

    private static string? PresentedKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization["Bearer ".Length..].Trim();
            return token.Length > 0 ? token : null;
        }

        return Header(request, ApiHeaders.ApiKey);
    }

    private static string? Header(HttpRequest request, string name)
    {
        var value = request.Headers[name].ToString().Trim();
        return value.Length > 0 ? value : null;
    }
}
