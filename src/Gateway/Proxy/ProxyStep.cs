using System.Buffers;
using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Tao.Gateway.Auth;
using Tao.Gateway.Capture;
using Tao.Gateway.Errors;
using Tao.Gateway.Routing;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace Tao.Gateway.Proxy;

/// <summary>
/// The gateway's step in YARP's proxy pipeline: checks and reads the request, resolves its "model" through the
/// model map to a cluster, sets up the capture, lets YARP forward it, and turns forwarding failures into
/// OpenAI-style errors.
/// </summary>
internal sealed partial class ProxyStep(
    RequestDelegate next, ModelCatalog catalog, IProxyStateLookup proxyState, CaptureRecorder recorder, TokenEstimator tokens,
    Limits.KeyLimiter limiter, Tao.Capture.Spool.CaptureSpool spool,
    IOptionsMonitor<GatewayOptions> gatewayOptions, IOptionsMonitor<CaptureOptions> captureOptions, TimeProvider time)
{
    public const string RequestIdHeader = "x-tao-request-id";
    public const string TaskHeader = "x-tao-task";

    /// <summary>"x-tao-capture: off" keeps a call out of the capture (only for keys with CaptureControl).</summary>
    public const string CaptureHeader = "x-tao-capture";
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
        var resolved = catalog.Current.Resolve(inspected.Model);
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
        var named = context.Request.Headers[TaskHeader].FirstOrDefault() ?? inspected.MetadataTask;
        var task = named ?? caller.Key?.DefaultTask;
        if (task is not null && !TaskTag().IsMatch(task))
        {
            await OpenAiError.TryWriteAsync(context, 400, "A task tag is 1-64 characters of letters, digits, '.', '_' or '-'.",
                OpenAiError.InvalidRequest, "invalid_task", TaskHeader);
            return;
        }

        // A key files its calls under its own tasks only: otherwise any caller could feed another task's training
        // data, or fire its rounds.
        if (named is not null && caller.Key is { } scoped && !scoped.AllowsTask(named))
        {
            await OpenAiError.TryWriteAsync(context, 403, $"This API key may not file calls under task '{named}'.",
                OpenAiError.Permission, "task_not_allowed", context.Request.Headers.ContainsKey(TaskHeader) ? TaskHeader : "metadata.task");
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
        if (context.Request.Headers[CaptureHeader].FirstOrDefault() is { } captureChoice)
        {
            if (!string.Equals(captureChoice, "off", StringComparison.OrdinalIgnoreCase) && !string.Equals(captureChoice, "on", StringComparison.OrdinalIgnoreCase))
            {
                await OpenAiError.TryWriteAsync(context, 400, $"{CaptureHeader} is 'on' or 'off'.", OpenAiError.InvalidRequest, "invalid_capture_header", CaptureHeader);
                return;
            }

            captureOff = string.Equals(captureChoice, "off", StringComparison.OrdinalIgnoreCase);
            if (captureOff && caller.Key is not { CaptureControl: true })
            {
                await OpenAiError.TryWriteAsync(context, 403, "This API key may not turn capture off; the call was not sent.",
                    OpenAiError.Permission, "capture_control_not_allowed", CaptureHeader);
                return;
            }
        }

        var recording = recorder.Enabled && !captureOff;
        Limits.KeyLimiter.Lease? lease = null;
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
                    headers: admission.Headers.Append(new("Retry-After", retryAfter)));
                return;
            }

            lease = admission.Lease;
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
                    OpenAiError.Upstream, "capture_unavailable", headers: [new("Retry-After", "5")]);
                return;
            }
        }

        if (resolved.UpstreamModel != inspected.Model)
        {
            body = RequestInspector.RewriteModel(body, inspected.ModelToken, resolved.UpstreamModel);
        }

        if (inspected.Stream && kind == ApiSurface.Chat && captureOptions.CurrentValue.RequestStreamUsage
            && !inspected.Document.RootElement.TryGetProperty("stream_options", out _))
        {
            body = StreamUsage.Request(body);
        }

        context.Request.Body = new MemoryStream(body, writable: false);
        context.Request.ContentLength = body.Length;

        var requestId = Guid.CreateVersion7();
        context.Response.Headers[RequestIdHeader] = requestId.ToString();
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

        CaptureContext? capture = null;
        if (recording)
        {
            capture = new CaptureContext(requestId, time.GetUtcNow().UtcDateTime, Stopwatch.GetTimestamp(), kind, inspected, caller,
                resolved, task, cluster.ClusterId, recorder.Cap);
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

        var call = new ProxyCall(requestId, kind, resolved, capture);
        context.Features.Set(call);
        context.ReassignProxyRequest(cluster);

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
                await next(context);
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

    /// <summary>The most one record can take in the spool: prompt, request and answer each cut at the cap, plus the rest.</summary>
    private static long RecordCeiling(CaptureOptions options) => 4L * options.MaxBodyBytes + 16 * 1024;

    private static Task TooLargeAsync(HttpContext context, long limit) =>
        OpenAiError.TryWriteAsync(context, 413, $"The request body is larger than the gateway's limit of {limit} bytes.",
            OpenAiError.InvalidRequest, "request_too_large");

    private static bool IsJson(string? contentType) =>
        contentType is not null
        && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || (contentType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && contentType.Contains("+json", StringComparison.OrdinalIgnoreCase)));

    [GeneratedRegex(@"\A[A-Za-z0-9._\-]{1,64}\z")]
    private static partial Regex TaskTag();
}
