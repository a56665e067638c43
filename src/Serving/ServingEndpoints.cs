using System.Text.Json;
using Microsoft.Extensions.Options;
using Tao.Trainer.Generation;
using Tao.Trainer.Tokenization;

namespace Tao.Serving;

/// <summary>The OpenAI-compatible surface of the model server: chat and text completions (streamed or not), models.</summary>
internal static class ServingEndpoints
{
    private static readonly JsonSerializerOptions s_json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void MapServing(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (ModelHost host) => Results.Json(new
        {
            @object = "list",
            data = host.Names.Select(n => new { id = n, @object = "model", created = 0, owned_by = "tao" }),
        }));
        app.MapPost("/v1/chat/completions", (HttpContext context, ModelHost host, IOptions<ModelServerOptions> options) => CompleteAsync(context, host, options.Value, chat: true));
        app.MapPost("/v1/completions", (HttpContext context, ModelHost host, IOptions<ModelServerOptions> options) => CompleteAsync(context, host, options.Value, chat: false));
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
    }

    private static async Task CompleteAsync(HttpContext context, ModelHost host, ModelServerOptions options, bool chat)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException e)
        {
            await ErrorAsync(context, 400, $"invalid JSON: {e.Message}", "invalid_json");
            return;
        }

        using (document)
        {
            var root = document.RootElement;
            var name = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
            if (!host.TryGet(name, out var served))
            {
                await ErrorAsync(context, 404, $"The model '{name}' is not loaded here.", "model_not_found");
                return;
            }

            int[] prompt;
            try
            {
                prompt = chat
                    ? served.Tokenizer.EncodePrompt(root.GetProperty("messages").EnumerateArray()
                        .Select(x => new ChatMessage(x.GetProperty("role").GetString()!, Content(x))).ToList())
                    : served.Tokenizer.Encode(root.GetProperty("prompt").GetString() ?? string.Empty);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException)
            {
                await ErrorAsync(context, 400, chat ? "'messages' must be a list of {role, content}" : "'prompt' must be a string", "invalid_request");
                return;
            }

            var generation = new GenerationOptions
            {
                MaxNewTokens = Int(root, "max_completion_tokens") ?? Int(root, "max_tokens") ?? options.DefaultMaxTokens,
                Temperature = Double(root, "temperature") ?? 1.0,
                TopP = Double(root, "top_p") ?? 1.0,
                Seed = (ulong)(Int(root, "seed") ?? Random.Shared.Next()),
                Stop = root.TryGetProperty("stop", out var stop) ? stop.ValueKind switch
                {
                    JsonValueKind.String => [stop.GetString()!],
                    JsonValueKind.Array => stop.EnumerateArray().Select(s => s.GetString()!).ToList(),
                    _ => [],
                } : [],
            };
            var n = Math.Clamp(Int(root, "n") ?? 1, 1, 64);
            var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            var includeUsage = root.TryGetProperty("stream_options", out var so) && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
            var jobs = Enumerable.Range(0, n)
                .Select(i => new GenerationJob(prompt, generation with { Seed = generation.Seed + (ulong)i }, stream && n == 1, seeded: Int(root, "seed") is not null))
                .ToList();
            foreach (var job in jobs)
            {
                served.Scheduler.Enqueue(job);
            }

            var id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..12];
            if (stream && n == 1)
            {
                await StreamAsync(context, served.Tokenizer, jobs[0], id, name, prompt.Length, chat, includeUsage);
                return;
            }

            var results = await Task.WhenAll(jobs.Select(j => j.Result.Task));
            var completion = results.Sum(r => r.Tokens.Length);
            object body = chat
                ? new
                {
                    id, @object = "chat.completion", created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model = name,
                    choices = results.Select((r, i) => new { index = i, message = new { role = "assistant", content = r.Text.Trim() }, finish_reason = r.FinishReason }),
                    usage = new { prompt_tokens = prompt.Length, completion_tokens = completion, total_tokens = prompt.Length + completion },
                }
                : new
                {
                    id, @object = "text_completion", created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), model = name,
                    choices = results.Select((r, i) => new { index = i, text = r.Text, finish_reason = r.FinishReason }),
                    usage = new { prompt_tokens = prompt.Length, completion_tokens = completion, total_tokens = prompt.Length + completion },
                };
            await context.Response.WriteAsJsonAsync(body, s_json, context.RequestAborted);
        }
    }

    private static async Task StreamAsync(HttpContext context, TextTokenizer tokenizer, GenerationJob job, string id, string model, int promptTokens, bool chat, bool includeUsage)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var tokens = new List<int>();
        var sent = 0;
        var first = true;
        await foreach (var token in job.Tokens!.Reader.ReadAllAsync(context.RequestAborted))
        {
            tokens.Add(token);
            var text = tokenizer.Decode(tokens);
            if (first)
            {
                text = text.TrimStart();
            }

            // A token may end inside a multi-byte character; wait for the rest before sending it.
            if (text.Length <= sent || text.EndsWith('\uFFFD'))
            {
                continue;
            }

            var delta = text[sent..];
            sent = text.Length;
            await WriteAsync(context, Chunk(id, created, model, chat, delta, first, null));
            first = false;
        }

        var result = await job.Result.Task;
        await WriteAsync(context, Chunk(id, created, model, chat, string.Empty, first, result.FinishReason));
        if (includeUsage)
        {
            await WriteAsync(context, new
            {
                id, @object = "chat.completion.chunk", created, model, choices = Array.Empty<object>(),
                usage = new { prompt_tokens = promptTokens, completion_tokens = result.Tokens.Length, total_tokens = promptTokens + result.Tokens.Length },
            });
        }

        await context.Response.Body.WriteAsync("data: [DONE]\n\n"u8.ToArray(), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static object Chunk(string id, long created, string model, bool chat, string delta, bool first, string? finish) => chat
        ? new
        {
            id, @object = "chat.completion.chunk", created, model,
            choices = new[] { new { index = 0, delta = first ? (object)new { role = "assistant", content = delta } : new { content = delta }, finish_reason = finish } },
        }
        : new { id, @object = "text_completion", created, model, choices = new[] { new { index = 0, text = delta, finish_reason = finish } } };

    private static async Task WriteAsync(HttpContext context, object chunk)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(chunk, s_json);
        await context.Response.Body.WriteAsync("data: "u8.ToArray(), context.RequestAborted);
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
        await context.Response.Body.WriteAsync("\n\n"u8.ToArray(), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static string Content(JsonElement message) => message.TryGetProperty("content", out var c) ? c.ValueKind switch
    {
        JsonValueKind.String => c.GetString()!,
        JsonValueKind.Array => string.Join("\n", c.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString())),
        _ => string.Empty,
    } : string.Empty;

    private static int? Int(JsonElement root, string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;

    private static double? Double(JsonElement root, string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static Task ErrorAsync(HttpContext context, int status, string message, string code)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { error = new { message, type = "invalid_request_error", param = (string?)null, code } });
    }
}
