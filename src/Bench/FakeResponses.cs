using System.Text.Json;

namespace Tao.Bench;

/// <summary>
/// The fake upstream's OpenAI Responses API (/v1/responses): the same deterministic echo as its chat answers, as a
/// response object or as the typed event stream (response.created, output items, output_text deltas, function-call
/// argument deltas, response.completed with usage). The same headers steer it as the chat answers.
/// </summary>
internal static class FakeResponses
{
    private const string MessageId = "msg_fake";
    private const string CallItemId = "fc_fake";
    private const string Arguments = """{"city":"Paris","unit":"celsius"}""";

    public static async Task AnswerAsync(HttpContext context, FakeUpstream self)
    {
        var body = await FakeUpstream.ReadAsync(context, self);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (await FakeUpstream.FailedAsync(context, self))
        {
            return;
        }

        var headers = context.Request.Headers;
        var model = root.TryGetProperty("model", out var m) ? m.GetString() ?? "fake" : "fake";
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var prompt = Prompt(root);
        var words = FakeUpstream.Words(headers["x-fake-words"], prompt);
        var text = string.Join(' ', words);
        var tool = headers["x-fake-tool-call"].ToString() is { Length: > 0 } name ? name : null;
        var usage = new
        {
            input_tokens = Math.Max(1, prompt.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length),
            input_tokens_details = new { cached_tokens = 0 },
            output_tokens = tool is null ? words.Count : 9,
            output_tokens_details = new { reasoning_tokens = 0 },
            total_tokens = 0,
        };
        object[] output = tool is null ? [Message(text, "completed")] : [Call(tool, Arguments, "completed")];
        if (!stream)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(Response(model, "completed", output, usage));
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = bytes.Length;
            await context.Response.Body.WriteAsync(bytes);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var events = new EventWriter(context.Response.Body);
        await events.WriteAsync("response.created", new { response = Response(model, "in_progress", [], null) });
        await events.WriteAsync("response.in_progress", new { response = Response(model, "in_progress", [], null) });
        if (tool is not null)
        {
            await events.WriteAsync("response.output_item.added", new { output_index = 0, item = Call(tool, string.Empty, "in_progress") });
            foreach (var piece in Arguments.Chunk(8).Select(c => new string(c)))
            {
                await events.WriteAsync("response.function_call_arguments.delta", new { item_id = CallItemId, output_index = 0, delta = piece });
            }

            await events.WriteAsync("response.function_call_arguments.done", new { item_id = CallItemId, output_index = 0, arguments = Arguments });
            await events.WriteAsync("response.output_item.done", new { output_index = 0, item = output[0] });
        }
        else
        {
            await events.WriteAsync("response.output_item.added", new { output_index = 0, item = Message(null, "in_progress") });
            await events.WriteAsync("response.content_part.added", new { item_id = MessageId, output_index = 0, content_index = 0, part = Part(string.Empty) });
            var cutAfter = int.TryParse(headers["x-fake-cut-after"], out var cut) ? cut : int.MaxValue;
            var chunkDelay = int.TryParse(headers["x-fake-chunk-delay-ms"], out var cd) ? cd : 0;
            for (var i = 0; i < words.Count; i++)
            {
                if (i == cutAfter)
                {
                    await context.Response.Body.FlushAsync();
                    await Task.Delay(50); // as the chat answers: the cut lands mid-stream, after what was sent was taken
                    context.Abort();
                    return;
                }

                await events.WriteAsync("response.output_text.delta", new
                {
                    item_id = MessageId, output_index = 0, content_index = 0, delta = (i == 0 ? string.Empty : " ") + words[i], logprobs = Array.Empty<object>(),
                });
                if (i == 0 && headers["x-fake-hold"].ToString() is { Length: > 0 } hold)
                {
                    await self.Hold(hold).Task.WaitAsync(TimeSpan.FromSeconds(30), context.RequestAborted);
                }

                if (chunkDelay > 0)
                {
                    await Task.Delay(chunkDelay, context.RequestAborted);
                }
            }

            await events.WriteAsync("response.output_text.done", new { item_id = MessageId, output_index = 0, content_index = 0, text, logprobs = Array.Empty<object>() });
            await events.WriteAsync("response.content_part.done", new { item_id = MessageId, output_index = 0, content_index = 0, part = Part(text) });
            await events.WriteAsync("response.output_item.done", new { output_index = 0, item = output[0] });
        }

        await events.WriteAsync("response.completed", new { response = Response(model, "completed", output, usage) });
    }

    /// <summary>The words of the last user turn: the input string, or the last user item's text.</summary>
    private static string Prompt(JsonElement root)
    {
        if (!root.TryGetProperty("input", out var input))
        {
            return string.Empty;
        }

        if (input.ValueKind == JsonValueKind.String)
        {
            return input.GetString() ?? string.Empty;
        }

        var last = string.Empty;
        foreach (var item in input.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("role", out var role) || role.GetString() != "user" || !item.TryGetProperty("content", out var content))
            {
                continue;
            }

            last = content.ValueKind == JsonValueKind.String
                ? content.GetString() ?? string.Empty
                : string.Join(' ', content.EnumerateArray().Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString()));
        }

        return last;
    }

    private static object Response(string model, string status, object[] output, object? usage) => new Dictionary<string, object?>
    {
        ["id"] = "resp_fake",
        ["object"] = "response",
        ["created_at"] = 1,
        ["status"] = status,
        ["error"] = null,
        ["incomplete_details"] = null,
        ["instructions"] = null,
        ["max_output_tokens"] = null,
        ["model"] = model,
        ["output"] = output,
        ["parallel_tool_calls"] = true,
        ["previous_response_id"] = null,
        ["reasoning"] = new { effort = (string?)null, summary = (string?)null },
        ["store"] = false,
        ["temperature"] = 1.0,
        ["text"] = new { format = new { type = "text" } },
        ["tool_choice"] = "auto",
        ["tools"] = Array.Empty<object>(),
        ["top_p"] = 1.0,
        ["truncation"] = "disabled",
        ["usage"] = usage,
        ["user"] = null,
        ["metadata"] = new Dictionary<string, string>(),
    };

    private static object Message(string? text, string status) => new
    {
        type = "message", id = MessageId, status, role = "assistant", content = text is null ? Array.Empty<object>() : [Part(text)],
    };

    private static object Part(string text) => new { type = "output_text", text, annotations = Array.Empty<object>(), logprobs = Array.Empty<object>() };

    private static object Call(string name, string arguments, string status) => new
    {
        type = "function_call", id = CallItemId, call_id = "call_fake", name, arguments, status,
    };

    /// <summary>Typed server-sent events: "event: type" and the data with its type and sequence number.</summary>
    private sealed class EventWriter(Stream output)
    {
        private int _sequence;

        public async Task WriteAsync(string type, object payload)
        {
            var data = JsonSerializer.SerializeToNode(payload)!.AsObject();
            data.Insert(0, "type", type);
            data.Insert(1, "sequence_number", _sequence++);
            await output.WriteAsync(System.Text.Encoding.UTF8.GetBytes($"event: {type}\ndata: {data.ToJsonString()}\n\n"));
            await output.FlushAsync();
        }
    }
}
