using System.Collections.Concurrent;
using System.Text.Json;

namespace Tao.Bench;

/// <summary>
/// A fast OpenAI-compatible server with fixed, deterministic answers (Chat Completions, Completions, Embeddings and
/// the Responses API, plain and streamed), for tests and benchmarks. Request headers steer it: x-fake-words (answer
/// length), x-fake-no-usage, x-fake-status (with x-fake-retry-after), x-fake-delay-ms, x-fake-cut-after (streamed
/// chunks before the connection is dropped), x-fake-chunk-delay-ms, x-fake-reset (drop the connection unanswered),
/// x-fake-tool-call (answer with a call of that function instead of text).
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeUpstream(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Requests received, when recording is on (tests): path, headers, body.</summary>
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public bool Record { get; set; }

    /// <summary>
    /// Answer every request with this status (an overloaded or broken upstream), whatever it asks for; 0 answers
    /// normally. With <see cref="FailFirst"/> only that many requests fail, then answers are normal again.
    /// </summary>
    public int FailWith { get; set; }

    /// <summary>How many requests <see cref="FailWith"/> fails; null for all of them.</summary>
    public int? FailFirst { get; set; }

    /// <summary>Cut every streamed answer after this many chunks (0: after the headers, before any data), whatever the request asks.</summary>
    public int? CutStreamsAfter { get; set; }

    /// <summary>A Retry-After header sent with forced failures.</summary>
    public string? RetryAfter { get; set; }

    private int _failed;

    /// <summary>Requests answered so far, failures included.</summary>
    public int Requests => Volatile.Read(ref _requests);

    private int _requests;

    private int NextForcedStatus()
    {
        if (FailWith < 400)
        {
            return 0;
        }

        return FailFirst is not { } first || Interlocked.Increment(ref _failed) <= first ? FailWith : 0;
    }

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _holds = new(StringComparer.Ordinal);

    /// <summary>Lets a stream held with "x-fake-hold: key" continue past its first chunk.</summary>
    public void Release(string key) => Hold(key).TrySetResult();

    internal TaskCompletionSource Hold(string key) =>
        _holds.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public static async Task<FakeUpstream> StartAsync(int port = 0, bool record = false)
    {
        FakeUpstream? self = null;
        var (app, address) = await LoopbackHost.StartAsync(app =>
        {
            app.MapPost("/v1/chat/completions", context => Answer(context, self!, chat: true));
            app.MapPost("/v1/completions", context => Answer(context, self!, chat: false));
            app.MapPost("/v1/embeddings", context => Embeddings(context, self!));
            app.MapPost("/v1/responses", context => FakeResponses.AnswerAsync(context, self!));
            app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "fake", @object = "model", owned_by = "fake" } } }));
        }, port);
        self = new FakeUpstream(app, address) { Record = record };
        return self;
    }

    private static async Task Answer(HttpContext context, FakeUpstream self, bool chat)
    {
        var body = await ReadAsync(context, self);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var model = root.TryGetProperty("model", out var m) ? m.GetString() ?? "fake" : "fake";
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var includeUsage = root.TryGetProperty("stream_options", out var so) && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
        var headers = context.Request.Headers;
        var noUsage = headers.ContainsKey("x-fake-no-usage");
        if (await FailedAsync(context, self))
        {
            return;
        }

        var words = Words(headers["x-fake-words"], Prompt(root, chat));
        var promptTokens = Math.Max(1, Prompt(root, chat).Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        var id = "cmpl-fake";
        if (!stream)
        {
            var text = string.Join(' ', words);
            var n = root.TryGetProperty("n", out var nElement) && nElement.TryGetInt32(out var nValue) && !headers.ContainsKey("x-fake-ignore-n") ? Math.Clamp(nValue, 1, 128) : 1;
            var usage = noUsage ? null : new { prompt_tokens = promptTokens, completion_tokens = words.Count * n, total_tokens = promptTokens + words.Count * n };
            object response = chat
                ? new
                {
                    id, @object = "chat.completion", created = 1, model,
                    choices = Enumerable.Range(0, n).Select(i => ChatChoice(i, n == 1 ? text : $"{text} #{i}", words, root, headers)).ToArray(), usage,
                }
                : new { id, @object = "text_completion", created = 1, model, choices = new[] { new { index = 0, text, finish_reason = "stop" } }, usage };
            if (chat && ReturnTokenIds(root))
            {
                // vLLM's return_token_ids: the prompt's token ids beside the choices (each choice carries its own).
                var node = JsonSerializer.SerializeToNode(response)!;
                node["prompt_token_ids"] = new System.Text.Json.Nodes.JsonArray(Enumerable.Range(1, promptTokens).Select(t => (System.Text.Json.Nodes.JsonNode)t).ToArray());
                response = node;
            }

            var bytes = JsonSerializer.SerializeToUtf8Bytes(response);
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var cutAfter = int.TryParse(headers["x-fake-cut-after"], out var cut) ? cut : self.CutStreamsAfter ?? int.MaxValue;
        var chunkDelay = int.TryParse(headers["x-fake-chunk-delay-ms"], out var cd) ? cd : 0;
        var output = context.Response.Body;
        if (chat && headers["x-fake-reasoning"].ToString() is { Length: > 0 } thinking)
        {
            // Reasoning models stream their reasoning first, beside the answer (reasoning_content, as vLLM and DeepSeek send it).
            await WriteEventAsync(output, new
            {
                id, @object = "chat.completion.chunk", created = 1, model,
                choices = new[] { new { index = 0, delta = new { role = "assistant", reasoning_content = thinking }, finish_reason = (string?)null } },
            });
        }

        var streamLogProbs = root.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.True;
        for (var i = 0; i < words.Count; i++)
        {
            if (i == cutAfter)
            {
                await output.FlushAsync();
                // A reset discards whatever the peer has not yet read: give the chunks sent a moment to be taken, as a
                // server that dies mid-answer would have (the cut must land mid-stream, not before the headers).
                await Task.Delay(50);
                context.Abort();
                return;
            }

            var piece = (i == 0 ? string.Empty : " ") + words[i];
            object chunk = chat
                ? new { id, @object = "chat.completion.chunk", created = 1, model, choices = new[] { new {
                    index = 0, delta = i == 0 ? (object)new { role = "assistant", content = piece } : new { content = piece }, finish_reason = (string?)null,
                    logprobs = streamLogProbs ? new { content = new[] { new { token = piece, logprob = -0.25, bytes = (int[]?)null, top_logprobs = Array.Empty<object>() } } } : null } } }
                : new { id, @object = "text_completion", created = 1, model, choices = new[] { new { index = 0, text = piece, finish_reason = (string?)null } } };
            if (chat && ReturnTokenIds(root))
            {
                // vLLM's return_token_ids on a stream: each chunk's choice has its tokens' ids, the first chunk the prompt's.
                var node = JsonSerializer.SerializeToNode(chunk)!;
                node["choices"]![0]!["token_ids"] = new System.Text.Json.Nodes.JsonArray(100 + i);
                if (i == 0)
                {
                    node["prompt_token_ids"] = new System.Text.Json.Nodes.JsonArray(Enumerable.Range(1, promptTokens).Select(t => (System.Text.Json.Nodes.JsonNode)t).ToArray());
                }

                chunk = node;
            }

            await WriteEventAsync(output, chunk);
            await output.FlushAsync();
            if (i == 0 && headers["x-fake-hold"].ToString() is { Length: > 0 } hold)
            {
                await self.Hold(hold).Task.WaitAsync(TimeSpan.FromSeconds(30), context.RequestAborted);
            }

            if (chunkDelay > 0)
            {
                await Task.Delay(chunkDelay, context.RequestAborted);
            }
        }

        object last = chat
            ? new { id, @object = "chat.completion.chunk", created = 1, model, choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } } }
            : new { id, @object = "text_completion", created = 1, model, choices = new[] { new { index = 0, text = "", finish_reason = "stop" } } };
        await WriteEventAsync(output, last);
        if (includeUsage && !noUsage)
        {
            await WriteEventAsync(output, new
            {
                id, @object = "chat.completion.chunk", created = 1, model, choices = Array.Empty<object>(),
                usage = new { prompt_tokens = promptTokens, completion_tokens = words.Count, total_tokens = promptTokens + words.Count },
            });
        }

        await output.WriteAsync("data: [DONE]\n\n"u8.ToArray());
        await output.FlushAsync();
    }

    /// <summary>
    /// One chat choice: the text, and what a test asked for beside it — reasoning (x-fake-reasoning), a refusal
    /// (x-fake-refusal), each word's log-probability when the request sets logprobs, token ids when it sets return_token_ids.
    /// </summary>
    private static System.Text.Json.Nodes.JsonObject ChatChoice(int index, string text, IReadOnlyList<string> words, JsonElement request, IHeaderDictionary headers)
    {
        var message = new System.Text.Json.Nodes.JsonObject { ["role"] = "assistant", ["content"] = text };
        if (headers["x-fake-reasoning"].ToString() is { Length: > 0 } reasoning)
        {
            message["reasoning_content"] = reasoning;
        }

        if (headers["x-fake-refusal"].ToString() is { Length: > 0 } refusal)
        {
            message["refusal"] = refusal;
        }

        var choice = new System.Text.Json.Nodes.JsonObject { ["index"] = index, ["message"] = message, ["finish_reason"] = "stop" };
        if (request.TryGetProperty("logprobs", out var logprobs) && logprobs.ValueKind == JsonValueKind.True)
        {
            choice["logprobs"] = new System.Text.Json.Nodes.JsonObject
            {
                ["content"] = new System.Text.Json.Nodes.JsonArray(words.Select((w, i) => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
                {
                    ["token"] = (i == 0 ? string.Empty : " ") + w, ["logprob"] = -0.25, ["top_logprobs"] = new System.Text.Json.Nodes.JsonArray(),
                }).ToArray()),
            };
        }

        if (ReturnTokenIds(request))
        {
            choice["token_ids"] = new System.Text.Json.Nodes.JsonArray(words.Select((_, i) => (System.Text.Json.Nodes.JsonNode)(100 + i)).ToArray());
        }

        return choice;
    }

    /// <summary>vLLM's extension: the request asks for the prompt's and the answer's token ids.</summary>
    private static bool ReturnTokenIds(JsonElement request) =>
        request.TryGetProperty("return_token_ids", out var value) && value.ValueKind == JsonValueKind.True;

    /// <summary>
    /// What the headers ask for before any answer: a delay, a dropped connection, or an error status. True when the
    /// request was answered (or dropped) here.
    /// </summary>
    internal static async Task<bool> FailedAsync(HttpContext context, FakeUpstream self)
    {
        var headers = context.Request.Headers;
        if (int.TryParse(headers["x-fake-delay-ms"], out var delay) && delay > 0)
        {
            await Task.Delay(delay, context.RequestAborted);
        }

        if (headers.ContainsKey("x-fake-reset"))
        {
            context.Abort(); // the connection drops with no answer at all
            return true;
        }

        var status = int.TryParse(headers["x-fake-status"], out var asked) && asked >= 400 ? asked : self.NextForcedStatus();
        if (status >= 400)
        {
            context.Response.StatusCode = status;
            if (headers["x-fake-retry-after"].ToString() is { Length: > 0 } retryAfter)
            {
                context.Response.Headers.RetryAfter = retryAfter;
            }
            else if (self.RetryAfter is { } configured)
            {
                context.Response.Headers.RetryAfter = configured;
            }

            await context.Response.WriteAsJsonAsync(new { error = new { message = "fake upstream failure", type = "server_error", code = "fake" } });
            return true;
        }

        return false;
    }

    private static async Task Embeddings(HttpContext context, FakeUpstream self)
    {
        var body = await ReadAsync(context, self);
        using var document = JsonDocument.Parse(body);
        var model = document.RootElement.TryGetProperty("model", out var m) ? m.GetString() : "fake";
        var vector = Enumerable.Range(0, 8).Select(i => i / 8.0f).ToArray();
        await context.Response.WriteAsJsonAsync(new
        {
            @object = "list", model,
            data = new[] { new { @object = "embedding", index = 0, embedding = vector } },
            usage = new { prompt_tokens = 3, total_tokens = 3 },
        });
    }

    internal static async Task<byte[]> ReadAsync(HttpContext context, FakeUpstream self)
    {
        Interlocked.Increment(ref self._requests);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        if (self.Record)
        {
            self.Received.Enqueue(new ReceivedRequest(context.Request.Path, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
        }

        return body;
    }

    internal static async Task WriteEventAsync(Stream output, object chunk)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(chunk);
        await output.WriteAsync("data: "u8.ToArray());
        await output.WriteAsync(json);
        await output.WriteAsync("\n\n"u8.ToArray());
    }

    private static string Prompt(JsonElement root, bool chat)
    {
        if (chat && root.TryGetProperty("messages", out var messages) && messages.GetArrayLength() > 0)
        {
            var last = messages[messages.GetArrayLength() - 1];
            return last.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() ?? string.Empty : string.Empty;
        }

        return root.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() ?? string.Empty : string.Empty;
    }

    /// <summary>The answer: "echo" and the prompt's words, or a fixed count of words when asked.</summary>
    internal static List<string> Words(string? count, string prompt)
    {
        if (int.TryParse(count, out var n) && n > 0)
        {
            return Enumerable.Range(0, n).Select(i => "w" + (i % 10)).ToList();
        }

        var words = new List<string> { "echo:" };
        words.AddRange(prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        return words;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
