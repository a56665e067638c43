using System.Net.Http.Headers;
using Tao.Gateway.Capture;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Tao.Gateway.Proxy;

/// <summary>
/// Transforms on every route: the client's gateway key is replaced by the upstream's credential (sent the way the
/// model's API expects it), and the response body passes through the capture on its way out.
/// </summary>
internal sealed class ProxyTransforms(CaptureRecorder recorder, TokenEstimator tokens, Microsoft.Extensions.Options.IOptionsMonitor<GatewayOptions> options)
    : ITransformProvider
{
    /// <summary>
    /// Client headers that never go upstream unless Tao:Gateway:ForwardHeaders names them: the browser's cookies, and
    /// the client's OpenAI organisation and project, which would bill or scope the call under the caller's account
    /// instead of the gateway's credential.
    /// </summary>
    private static readonly string[] s_dropped = ["Cookie", "OpenAI-Organization", "OpenAI-Project", "anthropic-api-key"];

    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context)
    {
        context.AddRequestTransform(transform =>
        {
            var headers = transform.ProxyRequest.Headers;
            // Every header a gateway key may arrive in: the key never travels further.
            headers.Remove("Authorization");
            headers.Remove("api-key");
            headers.Remove("x-api-key");
            headers.Remove(ProxyStep.TaskHeader);
            headers.Remove(ProxyStep.CaptureHeader);
            var forwarded = options.CurrentValue.ForwardHeaders;
            foreach (var name in s_dropped)
            {
                if (!forwarded.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    headers.Remove(name);
                }
            }

            // Plain bodies from upstreams: the capture reads them as they pass, and SSE gains nothing from compression.
            headers.Remove("Accept-Encoding");
            if (transform.HttpContext.Features.Get<ProxyCall>() is { } call)
            {
                var entry = call.Model.Entry;
                var credential = entry.Credential();
                if (entry.UpstreamApi == Routing.UpstreamApi.Anthropic)
                {
                    // The version is the model's: the upstream's behaviour must not change with whichever SDK called.
                    headers.Remove("anthropic-version");
                    headers.TryAddWithoutValidation("anthropic-version", entry.AnthropicVersion is { Length: > 0 } version ? version : Routing.ModelEntry.DefaultAnthropicVersion);
                    if (credential is { Length: > 0 })
                    {
                        headers.TryAddWithoutValidation("x-api-key", credential);
                    }
                }
                else if (credential is { Length: > 0 })
                {
                    headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
                }

                transform.ProxyRequest.Options.Set(UpstreamStreamGuard.CallKey, call);
            }

            return ValueTask.CompletedTask;
        });

        context.AddResponseTransform(transform =>
        {
            var http = transform.HttpContext;
            if (transform.ProxyResponse is { } response && http.Features.Get<ProxyCall>() is { Capture: { } capture })
            {
                capture.Upstream = http.GetReverseProxyFeature().ProxiedDestination?.Model.Config.Address ?? string.Empty;
                capture.OnResponseStarted(response.Content.Headers.ContentType?.MediaType, response.Content.Headers.ContentLength);
                var encoding = capture.Model.Entry.Tokenizer;
                http.Response.Body = new CaptureResponseStream(http.Response.Body, capture, recorder, http,
                    capture.IsEventStream ? text => tokens.Count(text, encoding) : null);
            }

            return ValueTask.CompletedTask;
        });
    }
}
