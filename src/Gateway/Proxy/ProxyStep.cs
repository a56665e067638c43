using System.Buffers;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Tao.Gateway.Auth;
using Tao.Gateway.Capture;
using Tao.Gateway.OpenAi;
using Tao.Gateway.Routing;
using Tao.Gateway.Settings;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;
using TaoHeaders = Tao.Capture.TaoHeaders;

namespace Tao.Gateway.Proxy;

/// <summary>
/// The gateway's step in YARP's proxy pipeline: checks and reads the request, resolves its "model" through the
/// model map to a cluster, sets up the capture, lets YARP forward it — again to the same or a fallback model when an
/// upstream fails before its answer starts — and turns forwarding failures into errors in the surface's shape.
/// </summary>
internal sealed partial class ProxyStep(
    RequestDelegate next, ModelCatalog catalog, IProxyStateLookup proxyState, CaptureRecorder recorder, TokenEstimator tokens,
    Limits.KeyLimiter limiter, Tao.Capture.Spool.CaptureSpool spool, RetryBudget retryBudget, ILogger<ProxyStep> logger,
    IOptionsMonitor<GatewayOptions> gatewayOptions, IOptionsMonitor<CaptureOptions> captureOptions, TimeProvider time)
{
    private long _recordingInFlight;
    private static readonly TimeSpan InterruptedStreamDrain = TimeSpan.FromMilliseconds(50);

    public async Task InvokeAsync(HttpContext context)
    {
        var endpoint = Surfaces.FromPath(context.Request.Path);
        if (endpoint is not { } kind)
        {
            await OpenAiError.TryWriteAsync(context, 404, $"Invalid URL ({context.Request.Method} {context.Request.Path}).",
                OpenAiError.InvalidRequest, "unknown_url");
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            context.Response.Headers.Allow = "POST";
            await OpenAiError.TryWriteAsync(context, 405, $"{context.Request.Method} is not allowed on {context.Request.Path}; use POST.",
                OpenAiError.InvalidRequest, "method_not_allowed");
            return;
        }

        if (context.Request.Headers.ContentEncoding is { Count: > 0 } encoding
            && !string.Equals(encoding.ToString(), "identity", StringComparison.OrdinalIgnoreCase))
        {
            // The gateway reads the body to route and capture it; an encoded body would be routed on bytes it cannot see.
            await OpenAiError.TryWriteAsync(context, 415, $"Request bodies must not be content-encoded (got '{encoding}'); send plain JSON.",
                OpenAiError.InvalidRequest, "unsupported_content_encoding");
            return;
        }

        if (!IsJson(context.Request.ContentType))
        {
            await OpenAiError.TryWriteAsync(context, 415, "The request body must be JSON (Content-Type: application/json).",
                OpenAiError.InvalidRequest, "unsupported_media_type");
            return;
        }

        var body = await ReadBodyAsync(context);
        if (body is null)
        {
            return;
        }

        InspectedRequest inspected;
        try
        {
            inspected = RequestInspector.Inspect(kind, body);
        }
        catch (RequestValidationException e)
        {
            await OpenAiError.TryWriteAsync(context, 400, e.Message, OpenAiError.InvalidRequest, e.Code, e.Param);
            return;
        }

        using (inspected)
        {
            await ProxyAsync(context, kind, body, inspected);
        }
    }

    private async Task ProxyAsync(HttpContext context, ApiSurface kind, byte[] body, InspectedRequest inspected)
    {
        var snapshot = catalog.Current;
        var resolved = snapshot.Resolve(inspected.Model);
        if (resolved is null)
        {
            await OpenAiError.TryWriteAsync(context, 404, $"The model '{inspected.Model}' does not exist or you do not have access to it.",
                OpenAiError.InvalidRequest, "model_not_found", "model");
            return;
        }

        if (!proxyState.TryGetCluster(resolved.Entry.Cluster, out var cluster))
        {
            await OpenAiError.TryWriteAsync(context, 502, $"The model '{inspected.Model}' is routed to cluster '{resolved.Entry.Cluster}', which is not configured.",
                OpenAiError.Upstream, "cluster_not_found");
            return;
        }

        var caller = context.Features.Get<Caller>() ?? Caller.Anonymous;
        var named = context.Request.Headers[TaoHeaders.Task].FirstOrDefault() ?? inspected.MetadataTask;
        var task = named ?? caller.Key?.DefaultTask;
        if (task is not null && !TaskTag().IsMatch(task))
        {
            await OpenAiError.TryWriteAsync(context, 400, "A task tag is 1-64 characters of letters, digits, '.', '_' or '-'.",
                OpenAiError.InvalidRequest, "invalid_task", TaoHeaders.Task);
            return;
        }

        var episode = context.Request.Headers[TaoHeaders.Episode].FirstOrDefault() ?? inspected.MetadataEpisode;
        if (episode is not null && !EpisodeId().IsMatch(episode))
        {
            await OpenAiError.TryWriteAsync(context, 400, "An episode id is 1-128 characters of letters, digits, '.', '_', ':' or '-'.",
                OpenAiError.InvalidRequest, "invalid_episode_id", TaoHeaders.Episode);
            return;
        }

        // A key files its calls under its own tasks only: otherwise any caller could feed another task's training
        // data, or fire its rounds.
        if (named is not null && caller.Key is { } scoped && !scoped.AllowsTask(named))
        {
            await OpenAiError.TryWriteAsync(context, 403, $"This API key may not file calls under task '{named}'.",
                OpenAiError.Permission, "task_not_allowed", context.Request.Headers.ContainsKey(TaoHeaders.Task) ? TaoHeaders.Task : "metadata.task");
            return;
        }

        if (caller.Key is { } limited && !limited.AllowsModel(inspected.Model, resolved.Alias, resolved.Name))
        {
            await OpenAiError.TryWriteAsync(context, 403, $"This API key may not use the model '{inspected.Model}'.",
                OpenAiError.Permission, "model_not_allowed", "model");
            return;
        }

        if (resolved.Entry.UpstreamApi != kind.Api())
        {
            // The gateway forwards bodies untouched: a model can only be called on the surfaces its upstream speaks.
            await OpenAiError.TryWriteAsync(context, 400, kind == ApiSurface.Messages
                    ? $"The model '{inspected.Model}' is served over the OpenAI API; call it on /v1/chat/completions or /v1/responses."
                    : $"The model '{inspected.Model}' is served over Anthropic's Messages API; call it on /v1/messages.",
                OpenAiError.InvalidRequest, "model_api_mismatch", "model");
            return;
        }

        var captureOff = false;
        if (context.Request.Headers[TaoHeaders.Capture].FirstOrDefault() is { } captureChoice)
        {
            if (!string.Equals(captureChoice, "off", StringComparison.OrdinalIgnoreCase) && !string.Equals(captureChoice, "on", StringComparison.OrdinalIgnoreCase))
            {
                await OpenAiError.TryWriteAsync(context, 400, $"{TaoHeaders.Capture} is 'on' or 'off'.", OpenAiError.InvalidRequest, "invalid_capture_header", TaoHeaders.Capture);
                return;
            }

            captureOff = string.Equals(captureChoice, "off", StringComparison.OrdinalIgnoreCase);
            if (captureOff && caller.Key is not { CaptureControl: true })
            {
                await OpenAiError.TryWriteAsync(context, 403, "This API key may not turn capture off; the call was not sent.",
                    OpenAiError.Permission, "capture_control_not_allowed", TaoHeaders.Capture);
                return;
            }
        }

        var recording = recorder.Enabled && !captureOff;
        Limits.KeyLimiter.Lease? lease = null;
        IReadOnlyDictionary<string, string>? limitHeaders = null;
        if (caller.Key is { } key)
        {
            var admission = limiter.Admit(key, inspected.Stream, body.Length / 4);
            foreach (var (name, value) in admission.Headers)
            {
                context.Response.Headers[name] = value;
            }

            if (admission.Refused is { } refused)
            {
                var retryAfter = Math.Max(1, (int)Math.Ceiling(refused.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await OpenAiError.TryWriteAsync(context, 429, refused.Message, refused.Type, refused.Code,
                    headers: admission.Headers.Append(new(HeaderNames.RetryAfter, retryAfter)));
                return;
            }

            lease = admission.Lease;
            limitHeaders = admission.Headers;
        }

        var reserved = false;
        if (recording && captureOptions.CurrentValue.WhenSpoolFull == SpoolFullPolicy.Refuse)
        {
            // Admit only what surely fits: every call in flight may still write a record of up to the cap.
            var inFlight = Interlocked.Increment(ref _recordingInFlight);
            reserved = true;
            if (spool.IsFull || spool.FreeBytes < inFlight * RecordCeiling(captureOptions.CurrentValue))
            {
                Interlocked.Decrement(ref _recordingInFlight);
                lease?.End(resolved.Name, resolved.Alias, null, null);
                await OpenAiError.TryWriteAsync(context, 503,
                    "The gateway cannot record this call right now (its capture spool has no room left for it), and it is set to refuse calls it cannot record.",
                    OpenAiError.Upstream, "capture_unavailable", headers: [new(HeaderNames.RetryAfter, "5")]);
                return;
            }
        }

        var askUsage = inspected.Stream && kind == ApiSurface.Chat && captureOptions.CurrentValue.RequestStreamUsage
            && !inspected.Document.RootElement.TryGetProperty("stream_options", out _);
        var modelToken = inspected.ModelToken;
        var requestedModel = inspected.Model;
        byte[] BodyFor(ResolvedModel target)
        {
            // Each attempt's body names its own target's upstream model; nothing else of the client's bytes changes.
            var forTarget = target.UpstreamModel != requestedModel ? RequestInspector.RewriteModel(body, modelToken, target.UpstreamModel) : body;
            return askUsage ? StreamUsage.Request(forTarget) : forTarget;
        }

        var requestId = Guid.CreateVersion7();
        context.Response.Headers[TaoHeaders.RequestId] = requestId.ToString();
        if (Activity.Current is { IsAllDataRequested: true } activity)
        {
            // The server span of this call (only when tracing is on): GenAI attributes and the capture's id.
            var operation = kind.Operation();
            activity.DisplayName = $"{operation} {inspected.Model}";
            activity.SetTag("gen_ai.operation.name", operation);
            activity.SetTag("gen_ai.request.model", inspected.Model);
            activity.SetTag("gen_ai.provider.name", cluster.ClusterId);
            activity.SetTag("tao.request_id", requestId.ToString());
            activity.SetTag("tao.alias", resolved.Alias);
            activity.SetTag("tao.model_version", resolved.Entry.Version);
            activity.SetTag("tao.task", task);
        }

        var policy = snapshot.PolicyFor(resolved);
        var callStarted = Stopwatch.GetTimestamp();
        var plan = new AttemptPlan(Targets(snapshot, resolved, cluster, policy, kind, requestId), policy, retryBudget, callStarted);
        retryBudget.Deposit(cluster.ClusterId);
        CaptureContext? capture = null;
        if (recording)
        {
            capture = new CaptureContext(requestId, time.GetUtcNow().UtcDateTime, callStarted, kind, inspected, caller,
                resolved, task, cluster.ClusterId, recorder.Cap) { Attempts = plan.Attempts, Episode = episode };
            if (lease is not null)
            {
                capture.Recorded = record => lease.End(record.Model, record.Alias, record.PromptTokens, record.CompletionTokens);
            }

            if (inspected.Stream)
            {
                // Streams rarely report usage: count the prompt while the upstream thinks, not after it answers.
                var root = inspected.Document.RootElement.Clone();
                var encoding = resolved.Entry.Tokenizer;
                var surface = kind.RecordName();
                capture.PromptTokenEstimate = Task.Run(() =>
                    tokens.CountPrompt(Tao.Capture.PromptText.Extract(root, surface), Tao.Capture.PromptText.Conversation(root, surface).Count, encoding));
            }
        }

        var call = new ProxyCall(requestId, kind, resolved, capture) { Plan = plan, RateLimitHeaders = limitHeaders };
        context.Features.Set(call);

        // The whole call's deadline: YARP forwards with RequestAborted, so a token that also fires at the deadline
        // ends the upstream call and the answer's stream together.
        var clientAborted = context.RequestAborted;
        var seconds = gatewayOptions.CurrentValue.RequestDeadlineSeconds;
        using var timer = seconds > 0 ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds), time) : null;
        using var deadline = timer is null ? null : CancellationTokenSource.CreateLinkedTokenSource(clientAborted, timer.Token);
        if (deadline is not null)
        {
            context.RequestAborted = deadline.Token;
        }

        try
        {
            try
            {
                await ForwardAsync(context, call, plan, BodyFor);
            }
            finally
            {
                call.DeadlinePassed = deadline is { IsCancellationRequested: true } && !clientAborted.IsCancellationRequested;
                context.RequestAborted = clientAborted;
            }

            await AfterForwardingAsync(context, call);
        }
        finally
        {
            lease?.End(resolved.Name, resolved.Alias, null, null);
            if (reserved)
            {
                Interlocked.Decrement(ref _recordingInFlight);
            }
        }
    }

    /// <summary>
    /// Sends the call through the rest of YARP's pipeline (load balancing, passive health, forwarder), once per attempt,
    /// until an attempt's answer is final: a success or a non-retryable status, a failure once anything reached the
    /// client, or the last failure the plan allows.
    /// </summary>
    /// <remarks>
    /// Why here and not with YARP's direct-forwarding retry pattern (IHttpForwarder in a loop of one's own): calling the
    /// pipeline again keeps every attempt load balanced over the cluster's healthy destinations and counted by its
    /// passive health check, with the cluster's own HTTP client and timeouts, and the credentials and capture of the
    /// route's transforms. The request body is already held in memory (the gateway reads it to route and capture), so
    /// each attempt simply gets a fresh stream over it.
    /// How a streamed answer is never sent twice: a failure status (429, 5xx) is held back by the response transform
    /// before YARP copies any of its body, and only when the plan has already chosen another attempt; a 2xx answer is
    /// never held, and once its first byte is on its way to the client the attempt is final whatever happens next (a
    /// stream cut afterwards is flagged upstream_truncated and ends the client's response as failed, as before). A
    /// transport failure is retried only while the client's response has not started.
    /// </remarks>
    private async Task ForwardAsync(HttpContext context, ProxyCall call, AttemptPlan plan, Func<ResolvedModel, byte[]> bodyFor)
    {
        var clientBody = context.Response.Body;
        // The request id and rate-limit headers survive every attempt; copied only when there can be another attempt.
        var gatewayHeaders = plan.CanRetry ? context.Response.Headers.ToArray() : [];
        while (true)
        {
            var target = plan.Current;
            var attemptBody = bodyFor(target.Model);
            context.Request.Body = new MemoryStream(attemptBody, writable: false);
            context.Request.ContentLength = attemptBody.Length;
            context.ReassignProxyRequest(target.Cluster);
            var proxy = context.GetReverseProxyFeature();
            if (proxy.AvailableDestinations.Count == 0 && plan.OnLastTarget)
            {
                // Every destination is ejected and nothing else could answer: trying them beats failing for sure.
                proxy.AvailableDestinations = proxy.AllDestinations;
            }

            call.BeginAttempt(target.Model, Stopwatch.GetTimestamp());
            if (call.Capture is { } capture)
            {
                capture.Model = target.Model;
                capture.Cluster = target.Cluster.ClusterId;
            }

            await next(context);

            var failure = context.GetForwarderErrorFeature();
            if (call.Attempt is null)
            {
                // No response headers: refused, reset, timed out, or no destination to send to.
                var upstream = context.GetReverseProxyFeature().ProxiedDestination?.Model.Config.Address ?? string.Empty;
                call.Attempt = plan.Record(target, upstream, 0, failure is null ? "no_response" : ErrorCode(failure.Error), call.AttemptStarted, Stopwatch.GetTimestamp());
                if (call.Capture is { } failed)
                {
                    failed.Upstream = upstream;
                }
            }
            else if (call.Attempt.Error.Length == 0 && (failure is not null || call.UpstreamInterrupted))
            {
                // The answer started and then broke: the stream guard ends it for the client, YARP saw a clean end.
                call.Attempt.Error = failure is null ? "upstream_stream_interrupted" : ErrorCode(failure.Error);
            }

            var delay = call.Held?.Delay;
            if (delay is null)
            {
                if (failure is null || context.Response.HasStarted || call.Capture?.FirstByteTimestamp is not null
                    || context.RequestAborted.IsCancellationRequested || !Retryable(failure.Error))
                {
                    return;
                }

                delay = plan.Next(retryAfter: null, sameTarget: failure.Error != ForwarderError.NoAvailableDestinations);
                if (delay is null)
                {
                    return;
                }
            }

            if (plan.Current == target)
            {
                LogRetrying(logger, call.RequestId, target.Model.Name, call.Attempt.Error, delay.Value.TotalMilliseconds);
            }
            else
            {
                LogFallingBack(logger, call.RequestId, target.Model.Name, call.Attempt.Error, plan.Current.Model.Name);
            }

            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Body = clientBody;
            context.Response.Clear();
            foreach (var (name, value) in gatewayHeaders)
            {
                context.Response.Headers[name] = value;
            }

            call.Capture?.ResetResponse();
            if (delay.Value > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(delay.Value, time, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    context.Features.Set<IForwarderErrorFeature>(new StoppedBetweenAttempts());
                    return;
                }
            }
        }
    }

    /// <summary>
    /// The call's targets: its model, then each fallback of its policy that resolves to a model on a configured cluster
    /// speaking the surface's API (the others are skipped and logged). Records of a fallback keep the requested name and
    /// the alias the client called.
    /// </summary>
    private List<AttemptTarget> Targets(RoutingSnapshot snapshot, ResolvedModel resolved, ClusterState cluster, ResiliencePolicy? policy, ApiSurface kind, Guid requestId)
    {
        var targets = new List<AttemptTarget> { new(resolved, cluster) };
        foreach (var name in policy?.Fallbacks ?? [])
        {
            if (snapshot.Resolve(name) is not { } fallback)
            {
                LogFallbackSkipped(logger, requestId, name, "it is not a known model or alias");
            }
            else if (fallback.Entry.UpstreamApi != kind.Api())
            {
                LogFallbackSkipped(logger, requestId, name, $"its upstream does not speak the {kind.RecordName()} surface's API");
            }
            else if (!proxyState.TryGetCluster(fallback.Entry.Cluster, out var fallbackCluster))
            {
                LogFallbackSkipped(logger, requestId, name, $"its cluster '{fallback.Entry.Cluster}' is not configured");
            }
            else
            {
                targets.Add(new AttemptTarget(fallback with { Requested = resolved.Requested, Alias = resolved.Alias }, fallbackCluster));
            }
        }

        return targets;
    }

    /// <summary>Forwarding failures where nothing came back, so another attempt cannot duplicate anything the client saw.</summary>
    private static bool Retryable(ForwarderError error) => error is ForwarderError.Request or ForwarderError.RequestTimedOut
        or ForwarderError.NoAvailableDestinations or ForwarderError.RequestBodyDestination or ForwarderError.ResponseBodyDestination;

    /// <summary>An attempt's failure in the words of the errors the client would get for it.</summary>
    private static string ErrorCode(ForwarderError error) => error switch
    {
        ForwarderError.Request or ForwarderError.RequestBodyDestination => "upstream_unreachable",
        ForwarderError.RequestTimedOut => "upstream_timeout",
        ForwarderError.NoAvailableDestinations => "no_healthy_upstream",
        ForwarderError.ResponseBodyDestination => "upstream_body_interrupted",
        ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
            or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient => "client_closed_request",
        _ => "upstream_error",
    };

    /// <summary>The deadline or the client ended the call while it waited to retry.</summary>
    private sealed class StoppedBetweenAttempts : IForwarderErrorFeature
    {
        public ForwarderError Error => ForwarderError.RequestCanceled;
        public Exception? Exception => null;
    }

    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Request {RequestId}: retrying {Model} in {DelayMs} ms after {Error}")]
    private static partial void LogRetrying(ILogger logger, Guid requestId, string model, string error, double delayMs);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "Request {RequestId}: {Model} failed ({Error}); falling back to {Fallback}")]
    private static partial void LogFallingBack(ILogger logger, Guid requestId, string model, string error, string fallback);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Request {RequestId}: fallback {Fallback} skipped: {Reason}")]
    private static partial void LogFallbackSkipped(ILogger logger, Guid requestId, string fallback, string reason);

    private async Task AfterForwardingAsync(HttpContext context, ProxyCall call)
    {
        var capture = call.Capture;
        var clientAborted = context.RequestAborted.IsCancellationRequested && !call.DeadlinePassed;
        if (call.UpstreamInterrupted)
        {
            // The error event is out; end the response without its final chunk so no client mistakes it for complete
            // (the OpenAI .NET client, for one, ignores the error event and would report a clean end). Kestrel's
            // abort drops output its send loop has not yet taken, so the event gets a moment to reach the socket.
            if (capture is not null)
            {
                recorder.Complete(capture, context.Response.StatusCode, clientAborted);
            }

            await context.Response.Body.FlushAsync(CancellationToken.None);
            await Task.Delay(InterruptedStreamDrain, time);
            context.Abort();
            return;
        }

        if (context.GetForwarderErrorFeature() is not { } failure)
        {
            if (capture is not null)
            {
                recorder.Complete(capture, context.Response.StatusCode, clientAborted);
            }

            return;
        }

        var (status, type, code, message) = failure.Error switch
        {
            _ when call.DeadlinePassed => (504, OpenAiError.Upstream, "request_deadline_exceeded",
                $"The call did not complete within the gateway's deadline of {gatewayOptions.CurrentValue.RequestDeadlineSeconds} s."),
            ForwarderError.RequestTimedOut => (504, OpenAiError.Upstream, "upstream_timeout", "The upstream model server did not answer in time."),
            ForwarderError.NoAvailableDestinations => (503, OpenAiError.Upstream, "no_healthy_upstream", "No healthy upstream is available for this model."),
            ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient
                => (499, OpenAiError.InvalidRequest, "client_closed_request", "The client closed the connection."),
            ForwarderError.ResponseBodyDestination => (502, OpenAiError.Upstream, "upstream_body_interrupted", "The upstream model server failed while sending its response."),
            _ => (502, OpenAiError.Upstream, "upstream_unreachable", "The upstream model server could not be reached or failed."),
        };
        clientAborted |= status == 499;
        var streamStarted = context.Response.HasStarted; // before the error below starts a response of its own
        if (status != 499)
        {
            await OpenAiError.TryWriteAsync(context, status, message, type, code);
        }

        if (capture is not null)
        {
            capture.UpstreamTruncated |= failure.Error == ForwarderError.ResponseBodyDestination || call.DeadlinePassed;
            var recorded = context.Response.HasStarted ? context.Response.StatusCode : status;
            recorder.Complete(capture, recorded, clientAborted, code, call.DeadlinePassed ? message : failure.Exception?.Message ?? message);
        }

        if (call.DeadlinePassed && streamStarted)
        {
            context.Abort(); // a stream cut by the deadline must not look complete to the client (a 504 written above must not be cut)
        }
    }

    private async Task<byte[]?> ReadBodyAsync(HttpContext context)
    {
        var limit = gatewayOptions.CurrentValue.MaxRequestBodyBytes;
        if (context.Features.Get<Caller>()?.Key is { } key && limiter.LimitsOf(key).MaxRequestBodyBytes is > 0 and var keyLimit)
        {
            limit = Math.Min(limit, keyLimit);
        }

        if (context.Request.ContentLength > limit)
        {
            await TooLargeAsync(context, limit);
            return null;
        }

        var reader = context.Request.BodyReader;
        CancellationTokenSource? timeout = null;
        try
        {
            while (true)
            {
                // Most bodies are already in Kestrel's buffers: only a body still arriving pays for a timer.
                if (!reader.TryRead(out var result))
                {
                    timeout ??= NewBodyTimeout(context);
                    result = await reader.ReadAsync(timeout.Token);
                }

                if (result.Buffer.Length > limit)
                {
                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    await TooLargeAsync(context, limit);
                    return null;
                }

                if (result.IsCompleted)
                {
                    var body = result.Buffer.ToArray();
                    reader.AdvanceTo(result.Buffer.End);
                    if (body.Length == 0)
                    {
                        await OpenAiError.TryWriteAsync(context, 400, "The request body is empty; send a JSON object.", OpenAiError.InvalidRequest, "empty_body");
                        return null;
                    }

                    return body;
                }

                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            await OpenAiError.TryWriteAsync(context, 408, "The request body did not arrive in time.", OpenAiError.InvalidRequest, "request_timeout");
            return null;
        }
        finally
        {
            timeout?.Dispose();
        }
    }

    private CancellationTokenSource NewBodyTimeout(HttpContext context)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(gatewayOptions.CurrentValue.RequestBodyTimeoutSeconds));
        return timeout;
    }

    /// <summary>
    /// A bound on what one record takes in the spool: every capped text (prompt, request, answer, reasoning, tool
    /// arguments, other choices) at the cap, each character escaped to at most 6 bytes of JSON, plus the rest.
    /// </summary>
    private static long RecordCeiling(CaptureOptions options) => 6L * 6 * options.MaxBodyBytes + 256 * 1024;

    private static Task TooLargeAsync(HttpContext context, long limit) =>
        OpenAiError.TryWriteAsync(context, 413, $"The request body is larger than the gateway's limit of {limit} bytes.",
            OpenAiError.InvalidRequest, "request_too_large");

    private static bool IsJson(string? contentType) =>
        contentType is not null
        && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || (contentType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && contentType.Contains("+json", StringComparison.OrdinalIgnoreCase)));

    [GeneratedRegex(@"\A[A-Za-z0-9._\-]{1,64}\z")]
    private static partial Regex TaskTag();

    [GeneratedRegex(@"\A[A-Za-z0-9._:\-]{1,128}\z")]
    private static partial Regex EpisodeId();
}
