namespace Tao.Capture;

/// <summary>
/// One proxied call, as captured. The same shape is the Kafka message value (JSON, see docs/capture-record.md)
/// and the row of the ClickHouse captures table; property names map to column names in snake_case.
/// </summary>
public sealed class CaptureRecord
{
    /// <summary>
    /// Version of this shape. Readers accept every version up to the one they know. 2: the API surface names in
    /// <see cref="Endpoint"/> (version 1 wrote "chat.completions" for chat), <see cref="Attempts"/> and <see cref="ToolCalls"/>.
    /// 3: what trainers need beside the answer — <see cref="Choices"/>, <see cref="Reasoning"/>, <see cref="Refusal"/>,
    /// <see cref="ResponseFormat"/>, <see cref="Logprobs"/>. 4: <see cref="TokenIds"/> and <see cref="PromptTokenIds"/>.
    /// </summary>
    public const int CurrentSchemaVersion = 4;

    public int SchemaVersion { get; set; } = CurrentSchemaVersion;

    /// <summary>Gateway-assigned id (UUIDv7, time ordered), returned to the client in the x-tao-request-id header.</summary>
    public Guid RequestId { get; set; }

    public DateTime StartedAt { get; set; }
    public DateTime CompletedAt { get; set; }
    public double LatencyMs { get; set; }

    /// <summary>Time to the first content token when streamed, else to the first response byte; null when none came.</summary>
    public double? TtftMs { get; set; }

    /// <summary>
    /// The API surface the client called: chat, responses, messages, completions or embeddings
    /// (<see cref="ApiSurfaces"/>; records of schema version 1 say "chat.completions" for chat).
    /// </summary>
    public string Endpoint { get; set; } = string.Empty;

    public int Status { get; set; }
    public string ErrorType { get; set; } = string.Empty;
    public string ErrorMessage { get; set; } = string.Empty;

    /// <summary>The model field as the client sent it.</summary>
    public string RequestedModel { get; set; } = string.Empty;

    /// <summary>The alias the requested name resolved through, empty when it named a model directly.</summary>
    public string Alias { get; set; } = string.Empty;

    /// <summary>The model-map entry that served the call.</summary>
    public string Model { get; set; } = string.Empty;

    /// <summary>The model name the upstream reported in its response.</summary>
    public string ServedModel { get; set; } = string.Empty;

    /// <summary>Version label of the served model (e.g. a flywheel round), from the model map.</summary>
    public string ModelVersion { get; set; } = string.Empty;

    public string Cluster { get; set; } = string.Empty;
    public string Upstream { get; set; } = string.Empty;

    /// <summary>Id of the gateway API key that made the call; never the key itself.</summary>
    public string ApiKeyId { get; set; } = string.Empty;

    public string Task { get; set; } = string.Empty;

    /// <summary>The episode (conversation, agent run) the call belongs to, from x-tao-episode-id or metadata.episode_id; empty when none.</summary>
    public string EpisodeId { get; set; } = string.Empty;
    public string EndUser { get; set; } = string.Empty;

    /// <summary>Which gateway instance captured the call.</summary>
    public string Gateway { get; set; } = string.Empty;

    public bool Stream { get; set; }

    /// <summary>The request body as JSON, with secret fields removed and redaction applied.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string RequestJson { get; set; } = "{}";

    /// <summary>
    /// <see cref="RequestJson"/> as the record's JSON carries it: an embedded object, not an escaped string. A property of
    /// its own type (whose converter is the type's) rather than a converter on the string property, because a converter
    /// on a property turns off the serializer's generated fast path for the whole record.
    /// </summary>
    [System.Text.Json.Serialization.JsonInclude]
    [System.Text.Json.Serialization.JsonPropertyName("request_json")]
    internal EmbeddedJson RequestJsonValue
    {
        get => new(RequestJson);
        set => RequestJson = value.Text ?? "{}";
    }

    /// <summary>The prompt as text (messages as "role: content" lines, or the completion prompt), redacted.</summary>
    public string Prompt { get; set; } = string.Empty;

    /// <summary>Hash of the normalised prompt: the flywheel counts distinct inputs by it.</summary>
    public ulong PromptHash { get; set; }

    /// <summary>The answer text (first choice), reassembled from the deltas when streamed, redacted.</summary>
    public string ResponseText { get; set; } = string.Empty;

    /// <summary>
    /// Why the answer ended, in Chat Completions' words whatever the surface: stop, length, tool_calls, content_filter
    /// (the Responses API's status and Anthropic's stop_reason are mapped; anything else is kept as sent).
    /// </summary>
    public string FinishReason { get; set; } = string.Empty;

    /// <summary>Tool calls in the answer (first choice), reassembled from the deltas when streamed, arguments redacted.</summary>
    public List<CaptureToolCall> ToolCalls { get; set; } = [];
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }

    /// <summary>True when the upstream reported no usage and the gateway counted tokens itself.</summary>
    public bool TokensEstimated { get; set; }

    public bool ClientAborted { get; set; }
    public bool UpstreamTruncated { get; set; }

    /// <summary>True when a body was longer than the capture cap and was cut.</summary>
    public bool CaptureTruncated { get; set; }

    /// <summary>
    /// Every upstream attempt the gateway made for this call, in order: retries on the same model and fallbacks to
    /// others. The last one is the answer the client got; one entry when the first attempt answered.
    /// </summary>
    public List<CaptureAttempt> Attempts { get; set; } = [];

    /// <summary>Every choice's text when the call asked for several (n &gt; 1), redacted; empty for one (it is <see cref="ResponseText"/>).</summary>
    public List<string> Choices { get; set; } = [];

    /// <summary>The first choice's reasoning, as reasoning models send it beside the answer (reasoning_content), redacted.</summary>
    public string Reasoning { get; set; } = string.Empty;

    /// <summary>The first choice's refusal, when the model refused instead of answering.</summary>
    public string Refusal { get; set; } = string.Empty;

    /// <summary>What the caller asked the answer to be: response_format's type, and the schema's name for json_schema ("json_schema:order").</summary>
    public string ResponseFormat { get; set; } = string.Empty;

    /// <summary>The first choice's sampled tokens and their log-probabilities, when the caller asked for logprobs.</summary>
    public List<CaptureLogProb> Logprobs { get; set; } = [];

    /// <summary>
    /// The first choice's sampled token ids, when the upstream returns them (vLLM's return_token_ids, or logprobs
    /// tokens spelled "token_id:N"): what a trainer needs to score the very sequence that was sampled. Kept only when
    /// redaction masked nothing in the answer.
    /// </summary>
    public List<int> TokenIds { get; set; } = [];

    /// <summary>The prompt's token ids, when the upstream returns them (vLLM's prompt_token_ids); kept only when redaction masked nothing in the prompt.</summary>
    public List<int> PromptTokenIds { get; set; } = [];
}
