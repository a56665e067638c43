using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Tao.Gateway.Auth;
using Tao.Gateway.OpenAi;
using Tao.Gateway.Routing;

namespace Tao.Gateway.Capture;

/// <summary>
/// One call's capture state, kept in the HttpContext features from the moment the request is understood until
/// its record is written. The response side is fed as bytes pass through to the client.
/// </summary>
internal sealed class CaptureContext(
    Guid requestId, DateTime startedAt, long startTimestamp, ApiSurface endpoint, InspectedRequest request,
    Caller caller, ResolvedModel model, string? task, string cluster, int cap)
{
    private const int MaxParsedBodyBytes = 16 * 1024 * 1024;
    private const int FirstBodyBuffer = 4096;

    // A buffered (non-streamed) response, in an array rented from the shared pool and returned once parsed: every call
    // with capture on passes through here, and a buffer grown by doubling was a third of what capture allocated.
    private byte[]? _body;
    private int _bodyLength;
    private SseReassembler? _sse;
    private long _bytesSeen;
    private long? _contentLength;
    private int _completed;

    public Guid RequestId { get; } = requestId;

    /// <summary>The episode the call belongs to (x-tao-episode-id or metadata.episode_id), if any.</summary>
    public string? Episode { get; init; }

    /// <summary>Called with the record once it is written (the key limiter charges the call's usage from it).</summary>
    public Action<Tao.Capture.CaptureRecord>? Recorded { get; set; }
    public DateTime StartedAt { get; } = startedAt;
    public long StartTimestamp { get; } = startTimestamp;
    public ApiSurface Endpoint { get; } = endpoint;
    public InspectedRequest Request { get; } = request;
    public Caller Caller { get; } = caller;
    /// <summary>The model that answered: the one requested, or the fallback the last attempt went to.</summary>
    public ResolvedModel Model { get; set; } = model;
    public string? Task { get; } = task;
    public string Cluster { get; set; } = cluster;

    /// <summary>Every upstream attempt, in order (filled by the proxy step).</summary>
    public List<Tao.Capture.CaptureAttempt> Attempts { get; set; } = [];

    /// <summary>Destination address the load balancer picked.</summary>
    public string Upstream { get; set; } = string.Empty;

    public ResponseSummary Summary { get; } = new();

    /// <summary>Prompt token count started off the request path when usage is not expected from the upstream.</summary>
    public Task<int>? PromptTokenEstimate { get; set; }

    /// <summary>Completion tokens counted per streamed delta, for upstreams that report no usage.</summary>
    public int StreamedTokenEstimate { get; set; }

    public long? FirstByteTimestamp { get; private set; }
    public long? FirstContentTimestamp { get; private set; }
    public bool IsEventStream { get; private set; }
    public bool UpstreamTruncated { get; set; }
    public bool CaptureTruncated => Summary.Truncated || _bodyOverflow;
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    private bool _bodyOverflow;

    public void OnResponseStarted(string? contentType, long? contentLength)
    {
        _contentLength = contentLength;
        IsEventStream = contentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;
        if (IsEventStream)
        {
            _sse = new SseReassembler(Summary, cap, Endpoint);
        }
        else
        {
            ReturnBody();
            _body = ArrayPool<byte>.Shared.Rent(contentLength is > 0 and <= MaxParsedBodyBytes ? (int)contentLength : FirstBodyBuffer);
        }
    }

    /// <summary>
    /// Forgets an attempt's response that never reached the client (its stream failed before the first byte), so the
    /// next attempt's response is read from scratch.
    /// </summary>
    public void ResetResponse()
    {
        ReturnBody();
        _sse = null;
        _bytesSeen = 0;
        _contentLength = null;
        IsEventStream = false;
    }

    /// <summary>Sees response bytes on their way to the client. True when they complete the response.</summary>
    public bool OnResponseBytes(ReadOnlySpan<byte> bytes, Func<string, int>? countDelta)
    {
        if (bytes.IsEmpty)
        {
            return false;
        }

        FirstByteTimestamp ??= Stopwatch.GetTimestamp();
        _bytesSeen += bytes.Length;
        if (_sse is not null)
        {
            var before = Summary.Length;
            var done = _sse.Feed(bytes);
            if (Summary.HasContent)
            {
                FirstContentTimestamp ??= Stopwatch.GetTimestamp();
            }

            if (countDelta is not null && Summary.Length > before)
            {
                StreamedTokenEstimate += countDelta(Summary.TextFrom(before));
            }

            return done;
        }

        if (_body is not null)
        {
            if (_bodyLength + bytes.Length <= MaxParsedBodyBytes)
            {
                if (_bodyLength + bytes.Length > _body.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent(Math.Max(_body.Length * 2, _bodyLength + bytes.Length));
                    _body.AsSpan(0, _bodyLength).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(_body);
                    _body = grown;
                }

                bytes.CopyTo(_body.AsSpan(_bodyLength));
                _bodyLength += bytes.Length;
            }
            else
            {
                _bodyOverflow = true;
            }
        }

        return _contentLength is { } length && _bytesSeen >= length;
    }

    /// <summary>Folds a buffered (non-streamed) response body into the summary.</summary>
    public void ParseBufferedBody()
    {
        if (_body is null || _bodyLength == 0 || _bodyOverflow)
        {
            ReturnBody();
            return;
        }

        try
        {
            // The document reads the rented array in place; nothing of it outlives the using (the summary keeps strings).
            using var document = JsonDocument.Parse(_body.AsMemory(0, _bodyLength));
            switch (Endpoint)
            {
                case ApiSurface.Responses:
                    ResponsesParser.ApplyBody(document.RootElement, Summary, cap);
                    break;
                case ApiSurface.Messages:
                    MessagesParser.ApplyBody(document.RootElement, Summary, cap);
                    break;
                default:
                    ChunkParser.Apply(document.RootElement, Summary, cap);
                    break;
            }
        }
        catch (JsonException)
        {
            // Not JSON (or cut short): the record keeps status and timings.
        }
        finally
        {
            ReturnBody();
        }
    }

    private void ReturnBody()
    {
        if (_body is { } body)
        {
            _body = null;
            _bodyLength = 0;
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>True for the first caller only: a call yields exactly one record.</summary>
    public bool TryMarkCompleted() => Interlocked.Exchange(ref _completed, 1) == 0;
}
