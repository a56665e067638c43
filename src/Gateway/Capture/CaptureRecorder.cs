using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Tao.Capture;
using Tao.Gateway.OpenAi;
using Tao.Gateway.Settings;

namespace Tao.Gateway.Capture;

/// <summary>
/// Turns a finished call into its capture record and appends it to the spool. It runs before the last bytes of
/// the response reach the client, so a record exists for every answer a client has seen.
/// </summary>
internal sealed partial class CaptureRecorder(
    CaptureWriter writer, IOptions<CaptureOptions> options, IOptions<GatewayOptions> gateway, Redactor redactor,
    TokenEstimator tokens, Telemetry.GatewayMetrics metrics, RecentCalls recent, ILogger<CaptureRecorder> logger)
{
    private readonly HashSet<string> _secretFields = new(options.Value.SecretFields, StringComparer.OrdinalIgnoreCase);

    public int Cap => options.Value.MaxBodyBytes;

    public bool Enabled => options.Value.Enabled;

    public void Complete(CaptureContext context, int status, bool clientAborted = false, string? errorType = null, string? errorMessage = null)
    {
        if (!context.TryMarkCompleted())
        {
            return;
        }

        try
        {
            var record = Build(context, status, clientAborted, errorType, errorMessage);
            writer.Write(record);
            metrics.Record(record);
            recent.Add(record);
            context.Recorded?.Invoke(record);
        }
        catch (Exception e)
        {
            // Capture must never fail a call; the failure is visible in logs and the dropped counter.
            LogCaptureFailed(logger, context.RequestId, e);
        }
    }

    private CaptureRecord Build(CaptureContext context, int status, bool clientAborted, string? errorType, string? errorMessage)
    {
        context.ParseBufferedBody();
        var summary = context.Summary;
        var now = Stopwatch.GetTimestamp();
        var root = context.Request.Document.RootElement;
        var cap = Cap;

        var endpoint = context.Endpoint.RecordName();
        var rawPrompt = PromptText.Extract(root, endpoint);
        var prompt = redactor.Apply(context.Caller.Key?.Redact, rawPrompt);
        var promptCut = prompt.Length > cap;
        if (promptCut)
        {
            prompt = prompt[..cap];
        }

        var requestJson = WriteRequest(root, cap, context.Caller.Key?.Redact, out var requestCut);
        var encoding = context.Model.Entry.Tokenizer;
        var estimated = summary.PromptTokens is null || (summary.CompletionTokens is null && context.Endpoint != ApiSurface.Embeddings);
        var promptTokens = summary.PromptTokens ?? EstimatePrompt(context, rawPrompt, root, encoding);
        var completionTokens = summary.CompletionTokens
            ?? (context.IsEventStream ? context.StreamedTokenEstimate : tokens.Count(summary.Text, encoding));

        // Redacted once: the record keeps it, and log-probabilities are kept only when it masked nothing.
        var rawResponse = summary.Text;
        var responseText = redactor.Apply(context.Caller.Key?.Redact, rawResponse);
        return new CaptureRecord
        {
            RequestId = context.RequestId,
            StartedAt = context.StartedAt,
            CompletedAt = context.StartedAt + Stopwatch.GetElapsedTime(context.StartTimestamp, now),
            LatencyMs = Stopwatch.GetElapsedTime(context.StartTimestamp, now).TotalMilliseconds,
            TtftMs = (context.FirstContentTimestamp ?? context.FirstByteTimestamp) is { } first
                ? Stopwatch.GetElapsedTime(context.StartTimestamp, first).TotalMilliseconds
                : null,
            Endpoint = endpoint,
            Status = status,
            ErrorType = errorType ?? summary.ErrorType ?? (status >= 400 ? "http_" + status : string.Empty),
            ErrorMessage = redactor.Apply(context.Caller.Key?.Redact, errorMessage ?? summary.ErrorMessage ?? string.Empty),
            RequestedModel = context.Model.Requested,
            Alias = context.Model.Alias ?? string.Empty,
            Model = context.Model.Name,
            ServedModel = summary.ServedModel ?? context.Model.UpstreamModel,
            ModelVersion = context.Model.Entry.Version ?? string.Empty,
            Cluster = context.Cluster,
            Upstream = context.Upstream,
            ApiKeyId = context.Caller.KeyId,
            Task = context.Task ?? string.Empty,
            EpisodeId = context.Episode ?? string.Empty,
            EndUser = context.Request.User ?? string.Empty,
            Gateway = gateway.Value.InstanceId,
            Stream = context.Request.Stream,
            RequestJson = requestJson,
            Prompt = prompt,
            PromptHash = PromptText.Hash(prompt),
            ResponseText = responseText,
            FinishReason = summary.FinishReason ?? string.Empty,
            ToolCalls = summary.HasToolCalls ? ToolCallsOf(summary, context.Caller.Key?.Redact) : [],
            Choices = summary.HasChoices ? ChoicesOf(summary, context.Caller.Key?.Redact) : [],
            Reasoning = redactor.Apply(context.Caller.Key?.Redact, summary.Reasoning),
            Refusal = redactor.Apply(context.Caller.Key?.Redact, summary.Refusal),
            ResponseFormat = ResponseFormat(root),
            // Tokens would spell out what redaction masked in the answer: they are kept only when it masked nothing.
            Logprobs = responseText == rawResponse ? summary.Logprobs : [],
            TokenIds = responseText == rawResponse ? summary.TokenIds : [],
            PromptTokenIds = prompt == rawPrompt ? summary.PromptTokenIds : [],
            PromptTokens = promptTokens,
            CompletionTokens = completionTokens,
            TokensEstimated = estimated,
            ClientAborted = clientAborted,
            UpstreamTruncated = context.UpstreamTruncated
                || (context.IsEventStream && !summary.Done && summary.FinishReason is null && status < 400),
            CaptureTruncated = context.CaptureTruncated || promptCut || requestCut,
            Attempts = context.Attempts,
        };
    }

    // Apart from Build, so that the closures over the key's choice are made only for the calls that have tool calls or
    // several choices, not for every call (a lambda over one of Build's parameters is allocated as Build starts).
    private List<CaptureToolCall> ToolCallsOf(ResponseSummary summary, bool? redact) => summary.ToolCalls(arguments => redactor.Apply(redact, arguments));

    private List<string> ChoicesOf(ResponseSummary summary, bool? redact) => summary.Choices.Select(c => redactor.Apply(redact, c)).ToList();

    /// <summary>
    /// The answer format the caller asked for: Chat Completions' response_format, or the Responses API's text.format —
    /// its type, and for a JSON schema its name ("json_schema:order"). Empty when none was asked.
    /// </summary>
    private static string ResponseFormat(JsonElement root)
    {
        var format = root.TryGetProperty("response_format", out var chat) ? chat
            : root.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.Object && text.TryGetProperty("format", out var f) ? f
            : default;
        if (format.ValueKind != JsonValueKind.Object || !format.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            return string.Empty;
        }

        var name = format.TryGetProperty("json_schema", out var schema) && schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("name", out var n)
                ? n.GetString()
            : format.TryGetProperty("name", out var direct) && direct.ValueKind == JsonValueKind.String ? direct.GetString()
            : null;
        var kind = type.GetString() ?? string.Empty;
        var value = name is { Length: > 0 } ? $"{kind}:{name}" : kind;
        return value.Length <= 128 ? value : value[..128];
    }

    private int EstimatePrompt(CaptureContext context, string rawPrompt, JsonElement root, string? encoding)
    {
        if (context.PromptTokenEstimate is { IsCompletedSuccessfully: true } ready)
        {
            return ready.Result;
        }

        return tokens.CountPrompt(rawPrompt, PromptText.Conversation(root, context.Endpoint.RecordName()).Count, encoding);
    }

    /// <summary>
    /// The request as JSON without secret fields, with strings redacted, and cut (still valid JSON) past the cap.
    /// </summary>
    private string WriteRequest(JsonElement root, int cap, bool? redact, out bool cut)
    {
        // The thread's own buffer and writer (as CaptureWriter's for the record): a new pair per call, grown from 1 KiB,
        // was the largest single allocation capture made.
        var writer = ReusableJsonBuffer.Take(ref t_requestWriter, default);
        var truncated = false;
        try
        {
            WriteElement(writer.Json, root, writer.Buffer, cap, redact, ref truncated);
            writer.Json.Flush();
            cut = truncated;
            return Encoding.UTF8.GetString(writer.Buffer.WrittenSpan);
        }
        finally
        {
            ReusableJsonBuffer.Release(ref t_requestWriter);
        }
    }

    [ThreadStatic]
    private static ReusableJsonBuffer? t_requestWriter;

    private void WriteElement(Utf8JsonWriter json, JsonElement element, ArrayBufferWriter<byte> buffer, int cap, bool? redact, ref bool cut)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                json.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    if (_secretFields.Contains(property.Name))
                    {
                        continue;
                    }

                    json.WritePropertyName(property.Name);
                    if (Over(json, buffer, cap))
                    {
                        json.WriteNullValue();
                        cut = true;
                        break;
                    }

                    WriteElement(json, property.Value, buffer, cap, redact, ref cut);
                }

                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    if (Over(json, buffer, cap))
                    {
                        cut = true;
                        break;
                    }

                    WriteElement(json, item, buffer, cap, redact, ref cut);
                }

                json.WriteEndArray();
                break;
            case JsonValueKind.String:
                var text = redactor.Apply(redact, PromptText.Text(element));
                var room = Math.Max(0, cap - (int)(json.BytesPending + buffer.WrittenCount));
                if (text.Length > room)
                {
                    text = text[..room];
                    cut = true;
                }

                json.WriteStringValue(text);
                break;
            default:
                element.WriteTo(json);
                break;
        }
    }

    private static bool Over(Utf8JsonWriter json, ArrayBufferWriter<byte> buffer, int cap) => json.BytesPending + buffer.WrittenCount > cap;

    [LoggerMessage(EventId = 1200, Level = LogLevel.Error, Message = "Capture of request {RequestId} failed")]
    private static partial void LogCaptureFailed(ILogger logger, Guid requestId, Exception exception);
}
