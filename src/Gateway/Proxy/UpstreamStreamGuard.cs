using Tao.Gateway.OpenAi;

namespace Tao.Gateway.Proxy;

/// <summary>
/// Wraps the body of an upstream event stream. If the upstream dies mid-stream (reset, premature end), the client
/// receives an error event that SSE-aware clients raise (in the shape of the call's surface), and the proxy step then
/// ends the client's response as failed rather than complete; the capture record is flagged as upstream-truncated.
/// A stream that dies before its first byte is left to fail as it is: nothing reached the client, so the proxy step
/// may still answer with an error or try another upstream.
/// </summary>
internal sealed class UpstreamStreamGuard : DelegatingHandler
{
    public static readonly HttpRequestOptionsKey<ProxyCall> CallKey = new("tao.call");

    public UpstreamStreamGuard(HttpMessageHandler inner) : base(inner)
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            request.Options.TryGetValue(CallKey, out var call);
            var original = response.Content;
            var guarded = new StreamContent(new GuardedStream(await original.ReadAsStreamAsync(cancellationToken), call, original));
            foreach (var header in original.Headers)
            {
                guarded.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Content = guarded;
        }

        return response;
    }

    private sealed class GuardedStream(Stream inner, ProxyCall? call, HttpContent owner) : Stream
    {
        private static readonly byte[] s_errorEvent = BuildErrorEvent();
        private static readonly byte[] s_anthropicErrorEvent = AnthropicError.StreamEvent(502, Message);
        private static readonly byte[] s_responsesErrorEvent =
        [
            .. "\n\nevent: error\ndata: "u8,
            .. """{"type":"error","code":"upstream_stream_interrupted","message":"The upstream model server closed the stream before it finished.","param":null,"sequence_number":0}"""u8,
            .. "\n\n"u8,
        ];
        private ReadOnlyMemory<byte> _pending;
        private bool _failed;
        private bool _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_failed)
            {
                return Drain(buffer.Span);
            }

            try
            {
                var read = await inner.ReadAsync(buffer, cancellationToken);
                _read |= read > 0;
                return read;
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested && _read)
            {
                _failed = true;
                _pending = call?.Surface switch
                {
                    ApiSurface.Messages => s_anthropicErrorEvent,
                    ApiSurface.Responses => s_responsesErrorEvent,
                    _ => s_errorEvent,
                };
                // Let go of the broken upstream connection now: it must never serve another request.
                inner.Dispose();
                owner.Dispose();
                if (call is not null)
                {
                    call.UpstreamInterrupted = true;
                }

                if (call?.Capture is { } capture)
                {
                    capture.UpstreamTruncated = true;
                    capture.Summary.ErrorType ??= "upstream_stream_interrupted";
                    capture.Summary.ErrorMessage ??= e.Message;
                }

                return Drain(buffer.Span);
            }
        }

        private int Drain(Span<byte> destination)
        {
            var count = Math.Min(destination.Length, _pending.Length);
            _pending.Span[..count].CopyTo(destination);
            _pending = _pending[count..];
            return count;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        private const string Message = "The upstream model server closed the stream before it finished.";

        /// <summary>Chat Completions' clients read an error object on a data line.</summary>
        private static byte[] BuildErrorEvent()
        {
            var body = OpenAiError.Body(Message, OpenAiError.Upstream, "upstream_stream_interrupted");
            // The blank lines first end whatever event the upstream left half-written.
            return [.. "\n\ndata: "u8, .. body, .. "\n\n"u8];
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                owner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
