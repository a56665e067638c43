namespace Tao.Capture.Tests;

internal static class Records
{
    public static CaptureRecord New(int i, string task = "support") => new()
    {
        RequestId = Guid.CreateVersion7(),
        StartedAt = DateTime.UtcNow,
        CompletedAt = DateTime.UtcNow.AddMilliseconds(12),
        LatencyMs = 12.5,
        TtftMs = i % 2 == 0 ? 3.25 : null,
        Endpoint = ApiSurfaces.Chat,
        Status = 200,
        RequestedModel = "support-bot",
        Alias = "support-bot",
        Model = "base-model",
        ServedModel = "upstream-base",
        ModelVersion = "base",
        Cluster = "local",
        Upstream = "http://127.0.0.1:8000/",
        ApiKeyId = "key_1",
        Task = task,
        EndUser = "user-" + i,
        Gateway = "gw-1",
        Stream = i % 3 == 0,
        RequestJson = $$"""{"model":"support-bot","messages":[{"role":"user","content":"question {{i}}"}]}""",
        Prompt = $"user: question {i}",
        PromptHash = PromptText.Hash($"user: question {i}"),
        ResponseText = $"answer {i}",
        FinishReason = "stop",
        PromptTokens = 7,
        CompletionTokens = 3,
        ToolCalls = i % 4 == 0 ? [new CaptureToolCall { Id = "call_" + i, Name = "lookup_order", Arguments = $$"""{"order":{{i}}}""" }] : [],
        Attempts =
        [
            .. i % 5 == 0 ? [new CaptureAttempt { Model = "base-model", Cluster = "local", Upstream = "http://127.0.0.1:9/", Error = "connect_failed", LatencyMs = 0.4 }] : Array.Empty<CaptureAttempt>(),
            new CaptureAttempt { Model = "base-model", Cluster = "local", Upstream = "http://127.0.0.1:8000/", Status = 200, StartedMs = 0.5, LatencyMs = 9.5 },
        ],
    };
}
