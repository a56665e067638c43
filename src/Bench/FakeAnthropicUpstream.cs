using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tao.Bench;

/// <summary>
/// A fake Anthropic Messages API (/v1/messages) with fixed, deterministic answers, beside <see cref="FakeUpstream"/>
/// and in its style: "echo:" and the last user turn's words, as a message or as Anthropic's event stream
/// (message_start, content_block_start / delta / stop, message_delta with usage, message_stop). Request headers steer it:
/// x-fake-words, x-fake-status (with x-fake-retry-after), x-fake-delay-ms, x-fake-reset, x-fake-cut-after,
/// x-fake-chunk-delay-ms, x-fake-tool-call (a text block and then a tool_use block of that name).
/// </summary>
public sealed class FakeAnthropicUpstream : IAsyncDisposable
{
    private const string ToolInput = """{"city":"Paris","unit":"celsius"}""";
    private readonly WebApplication _app;
    private int _failed;
    private int _requests;

    private FakeAnthropicUpstream(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    /// <summary>Requests received, when recording is on (tests): path, headers, body.</summary>
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public bool Record { get; set; }

    /// <summary>Answer every request with this status (e.g. 529, overloaded); 0 answers normally. <see cref="FailFirst"/> limits how many.</summary>
    public int FailWith { get; set; }

    public int? FailFirst { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    public static async Task<FakeAnthropicUpstream> StartAsync(int port = 0, bool record = false)
    {
        FakeAnthropicUpstream? self = null;
        var (app, address) = await LoopbackHost.StartAsync(app => app.MapPost("/v1/messages", context => self!.AnswerAsync(context)), port);
        self = new FakeAnthropicUpstream(app, address) { Record = record };
        return self;
    }

    private async Task AnswerAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        if (Record)
        {
            Received.Enqueue(new ReceivedRequest(context.Request.Path, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
        }

        var headers = context.Request.Headers;
        if (int.TryParse(headers["x-fake-delay-ms"], out var delay) && delay > 0)
        {
            await Task.Delay(delay, context.RequestAborted);
        }

        if (headers.ContainsKey("x-fake-reset"))
        {
            context.Abort();
            return;
        }

        var status = int.TryParse(headers["x-fake-status"], out var asked) && asked >= 400 ? asked
            : FailWith >= 400 && (FailFirst is not { } first || Interlocked.Increment(ref _failed) <= first) ? FailWith : 0;
        if (status >= 400)
        {
            context.Response.StatusCode = status;
            if (headers["x-fake-retry-after"].ToString() is { Length: > 0 } retryAfter)
            {
                context.Response.Headers.RetryAfter = retryAfter;
            }

            var type = status switch { 429 => "rate_limit_error", 529 => "overloaded_error", >= 500 => "api_error", _ => "invalid_request_error" };
            await context.Response.WriteAsJsonAsync(new { type = "error", error = new { type, message = "fake upstream failure" } });
            return;
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var model = root.TryGetProperty("model", out var m) ? m.GetString() ?? "fake" : "fake";
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var prompt = Prompt(root);
        var words = FakeUpstream.Words(headers["x-fake-words"], prompt);
        var text = string.Join(' ', words);
        var tool = headers["x-fake-tool-call"].ToString() is { Length: > 0 } name ? name : null;
        var inputTokens = Math.Max(1, prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        var outputTokens = words.Count + (tool is null ? 0 : 9);
        var stop = tool is null ? "end_turn" : "tool_use";
        if (!stream)
        {
            var content = new JsonArray { new JsonObject { ["type"] = "text", ["text"] = text } };
            if (tool is not null)
            {
                content.Add(new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_fake", ["name"] = tool, ["input"] = JsonNode.Parse(ToolInput) });
            }

            var message = Message(model, content, stop, inputTokens, outputTokens);
            var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var output = context.Response.Body;
        await EventAsync(output, "message_start", new JsonObject { ["message"] = Message(model, [], null, inputTokens, 1) });
        await EventAsync(output, "content_block_start", new JsonObject { ["index"] = 0, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
        await EventAsync(output, "ping", new JsonObject());
        var cutAfter = int.TryParse(headers["x-fake-cut-after"], out var cut) ? cut : int.MaxValue;
        var chunkDelay = int.TryParse(headers["x-fake-chunk-delay-ms"], out var cd) ? cd : 0;
        for (var i = 0; i < words.Count; i++)
        {
            if (i == cutAfter)
            {
                await output.FlushAsync();
                await Task.Delay(50);
                context.Abort();
                return;
            }

            await EventAsync(output, "content_block_delta", new JsonObject
            {
                ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = (i == 0 ? "" : " ") + words[i] },
            });
            if (chunkDelay > 0)
            {
                await Task.Delay(chunkDelay, context.RequestAborted);
            }
        }

        await EventAsync(output, "content_block_stop", new JsonObject { ["index"] = 0 });
        if (tool is not null)
        {
            await EventAsync(output, "content_block_start", new JsonObject
            {
                ["index"] = 1, ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_fake", ["name"] = tool, ["input"] = new JsonObject() },
            });
            foreach (var piece in ToolInput.Chunk(8).Select(c => new string(c)))
            {
                await EventAsync(output, "content_block_delta", new JsonObject
                {
                    ["index"] = 1, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = piece },
                });
            }

            await EventAsync(output, "content_block_stop", new JsonObject { ["index"] = 1 });
        }

        await EventAsync(output, "message_delta", new JsonObject
        {
            ["delta"] = new JsonObject { ["stop_reason"] = stop, ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = outputTokens },
        });
        await EventAsync(output, "message_stop", new JsonObject());
    }

    private static JsonObject Message(string model, JsonArray content, string? stop, int inputTokens, int outputTokens) => new()
    {
        ["id"] = "msg_fake",
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = model,
        ["content"] = content,
        ["stop_reason"] = stop,
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject
        {
            ["input_tokens"] = inputTokens, ["output_tokens"] = outputTokens, ["cache_creation_input_tokens"] = 0, ["cache_read_input_tokens"] = 0,
        },
    };

    private static async Task EventAsync(Stream output, string type, JsonObject data)
    {
        data.Insert(0, "type", type);
        await output.WriteAsync(Encoding.UTF8.GetBytes($"event: {type}\ndata: {data.ToJsonString()}\n\n"));
        await output.FlushAsync();
    }

    /// <summary>The last user turn's text (a string, or its text blocks).</summary>
    private static string Prompt(JsonElement root)
    {
        var last = string.Empty;
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return last;
        }

        foreach (var message in messages.EnumerateArray())
        {
            if (!message.TryGetProperty("role", out var role) || role.GetString() != "user" || !message.TryGetProperty("content", out var content))
            {
                continue;
            }

            last = content.ValueKind == JsonValueKind.String
                ? content.GetString() ?? string.Empty
                : string.Join(' ', content.EnumerateArray().Where(b => b.TryGetProperty("type", out var t) && t.GetString() == "text").Select(b => b.GetProperty("text").GetString()));
        }

        return last;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
