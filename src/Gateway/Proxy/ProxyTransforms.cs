using System.Net.Http.Headers;
using Microsoft.Net.Http.Headers;
using Tao.Gateway.Capture;
using Tao.Gateway.OpenAi;
using Tao.Gateway.Settings;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Tao.Gateway.Proxy;

/// <summary>
/// Transforms on every route: the client's gateway key is replaced by the upstream's credential (sent the way the
/// model's API expects it), and the response body passes through the capture on its way out.
/// </summary>
internal sealed class ProxyTransforms(
    CaptureRecorder recorder, TokenEstimator tokens, Microsoft.Extensions.Options.IOptionsMonitor<GatewayOptions> options, TimeProvider time)
    : ITransformProvider
{
    /// <summary>
    /// Client headers that never go upstream unless Tao:Gateway:ForwardHeaders names them: the browser's cookies, and
    /// the client's OpenAI organisation and project, which would bill or scope the call under the caller's account
    /// instead of the gateway's credential.
    /// </summary>
    private static readonly Dictionary<string, string> s_noHeaders = [];

    private static readonly string[] s_upstreamOnly =
    [
        ApiHeaders.OpenAiOrganization, ApiHeaders.OpenAiProject, ApiHeaders.RateLimitLimitRequests, ApiHeaders.RateLimitLimitTokens,
        ApiHeaders.RateLimitRemainingRequests, ApiHeaders.RateLimitRemainingTokens, ApiHeaders.RateLimitResetRequests, ApiHeaders.RateLimitResetTokens,
    ];

    private static readonly string[] s_dropped = [HeaderNames.Cookie, ApiHeaders.OpenAiOrganization, ApiHeaders.OpenAiProject, ApiHeaders.AnthropicApiKey];

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
            headers.Remove(HeaderNames.Authorization);
            headers.Remove(ApiHeaders.ApiKey);
            headers.Remove(ApiHeaders.XApiKey);
            headers.Remove(Tao.Capture.TaoHeaders.Task);
            headers.Remove(Tao.Capture.TaoHeaders.Capture);
            headers.Remove(Tao.Capture.TaoHeaders.Episode);
            var forwarded = options.CurrentValue.ForwardHeaders;
            foreach (var name in s_dropped)
            {
                if (!forwarded.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    headers.Remove(name);
                }
            }

            // Plain bodies from upstreams: the capture reads them as they pass, and SSE gains nothing from compression.
            headers.Remove(HeaderNames.AcceptEncoding);
            if (transform.HttpContext.Features.Get<ProxyCall>() is { } call)
            {
                var entry = call.Model.Entry;
                var credential = entry.Credential();
                if (entry.UpstreamApi == UpstreamApi.Anthropic)
                {
                    // The version is the model's: the upstream's behaviour must not change with whichever SDK called.
                    headers.Remove(ApiHeaders.AnthropicVersion);
                    headers.TryAddWithoutValidation(ApiHeaders.AnthropicVersion, entry.AnthropicVersion is { Length: > 0 } version ? version : State.ModelEntry.DefaultAnthropicVersion);
                    if (credential is { Length: > 0 })
                    {
                        headers.TryAddWithoutValidation(ApiHeaders.XApiKey, credential);
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
            // The upstream account's own quota and identity are not the caller's business (and would sit beside the
            // gateway's per-key x-ratelimit-* headers as a second, contradicting value).
            foreach (var name in s_upstreamOnly)
            {
                transform.HttpContext.Response.Headers.Remove(name);
            }

            foreach (var (name, value) in transform.HttpContext.Features.Get<ProxyCall>()?.RateLimitHeaders ?? s_noHeaders)
            {
                transform.HttpContext.Response.Headers[name] = value;
            }

            var http = transform.HttpContext;
            if (transform.ProxyResponse is not { } response || http.Features.Get<ProxyCall>() is not { Plan: { } plan } call)
            {
                return ValueTask.CompletedTask;
            }

            var status = (int)response.StatusCode;
            // The attempt is recorded now, before any of its body flows: a completed answer's record is written as its
            // last bytes pass, and must already list the attempt that served it.
            var upstream = http.GetReverseProxyFeature().ProxiedDestination?.Model.Config.Address ?? string.Empty;
            call.Attempt = plan.Record(plan.Current, upstream, status, status >= 400 ? "http_" + status : string.Empty,
                call.AttemptStarted, System.Diagnostics.Stopwatch.GetTimestamp());
            if (AttemptPlan.IsRetryable(status) && plan.Next(RetryAfter(response, time.GetUtcNow()), sameTarget: true) is { } delay)
            {
                // Held back: the status and headers YARP copied are cleared by the proxy step and the body is never
                // copied, so nothing of this answer reaches the client before the next attempt.
                call.Held = new HeldAttempt(status, delay);
                transform.SuppressResponseBody = true;
                return ValueTask.CompletedTask;
            }

            if (call.Capture is { } capture)
            {
                capture.Upstream = upstream;
                capture.OnResponseStarted(response.Content.Headers.ContentType?.MediaType, response.Content.Headers.ContentLength);
                var encoding = capture.Model.Entry.Tokenizer;
                http.Response.Body = new CaptureResponseStream(http.Response.Body, capture, recorder, http,
                    capture.IsEventStream ? text => tokens.Count(text, encoding) : null);
            }

            return ValueTask.CompletedTask;
        });
    }

    /// <summary>How long the upstream asks to be left alone: retry-after-ms (OpenAI), else Retry-After in seconds or as a date.</summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage response, DateTimeOffset now)
    {
        if (response.Headers.TryGetValues(ApiHeaders.RetryAfterMs, out var ms)
            && double.TryParse(ms.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var milliseconds)
            && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };
    }
}
