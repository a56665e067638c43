using System.Net.Sockets;
using System.Text;
using static Tao.Gateway.Tests.GatewayCalls;

namespace Tao.Gateway.Tests.OpenAi;

/// <summary>Malformed requests get a 4xx with an OpenAI-style error body; none reaches the upstream or a 5xx.</summary>
public sealed class BadInputTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string, string, string, string?, int, string> Cases => new()
    {
        // name, path, body, content type, expected status, expected error code
        { "invalid json", "/v1/chat/completions", "{\"model\": \"base-model\", ", "application/json", 400, "invalid_json" },
        { "array body", "/v1/chat/completions", "[1,2,3]", "application/json", 400, "invalid_json" },
        { "empty body", "/v1/chat/completions", "", "application/json", 400, "empty_body" },
        { "missing model", "/v1/chat/completions", """{"messages":[{"role":"user","content":"x"}]}""", "application/json", 400, "missing_model" },
        { "model not a string", "/v1/chat/completions", """{"model":42,"messages":[{"role":"user","content":"x"}]}""", "application/json", 400, "invalid_type" },
        { "empty model", "/v1/chat/completions", """{"model":"","messages":[{"role":"user","content":"x"}]}""", "application/json", 400, "invalid_type" },
        { "unknown model", "/v1/chat/completions", """{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}""", "application/json", 404, "model_not_found" },
        { "duplicate model", "/v1/chat/completions", """{"model":"base-model","model":"dead-model","messages":[{"role":"user","content":"x"}]}""", "application/json", 400, "duplicate_model" },
        { "text content type", "/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"x"}]}""", "text/plain", 415, "unsupported_media_type" },
        { "no content type", "/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"x"}]}""", null, 415, "unsupported_media_type" },
        { "missing messages", "/v1/chat/completions", """{"model":"base-model"}""", "application/json", 400, "missing_messages" },
        { "messages not array", "/v1/chat/completions", """{"model":"base-model","messages":"hi"}""", "application/json", 400, "missing_messages" },
        { "empty messages", "/v1/chat/completions", """{"model":"base-model","messages":[]}""", "application/json", 400, "empty_messages" },
        { "message without role", "/v1/chat/completions", """{"model":"base-model","messages":[{"content":"x"}]}""", "application/json", 400, "invalid_message" },
        { "stream not boolean", "/v1/chat/completions", """{"model":"base-model","stream":"yes","messages":[{"role":"user","content":"x"}]}""", "application/json", 400, "invalid_type" },
        { "completions without prompt", "/v1/completions", """{"model":"base-model"}""", "application/json", 400, "missing_prompt" },
        { "embeddings without input", "/v1/embeddings", """{"model":"base-model"}""", "application/json", 400, "missing_input" },
        { "unknown endpoint", "/v1/files", """{"model":"base-model"}""", "application/json", 404, "unknown_url" },
        { "deep nesting", "/v1/chat/completions", "{\"model\":\"base-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"x\":" + new string('[', 200) + new string(']', 200) + "}", "application/json", 400, "invalid_json" },
        { "over size limit", "/v1/chat/completions", "{\"model\":\"base-model\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 70_000) + "\"}]}", "application/json", 413, "request_too_large" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_GetsOpenAiStyleClientError(string name, string path, string body, string? contentType, int status, string code)
    {
        using var http = gateway.Http();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        if (contentType is not null)
        {
            content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        }

        var before = gateway.Upstream.Received.Count;
        using var response = await http.PostAsync(path, content);

        await AssertErrorAsync(response, status, code, name);
        Assert.Equal(before, gateway.Upstream.Received.Count);
    }

    [Fact]
    public async Task InvalidUtf8_GetsClientError()
    {
        using var http = gateway.Http();
        var bytes = Encoding.UTF8.GetBytes("""{"model":"base-model","messages":[{"role":"user","content":"AB"}]}""");
        var index = Array.IndexOf(bytes, (byte)'A');
        bytes[index] = 0xC3; // a lead byte followed by an ASCII byte: not UTF-8
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");

        using var response = await http.PostAsync("/v1/chat/completions", content);

        await AssertErrorAsync(response, 400, "invalid_json", "invalid utf-8");
    }

    [Fact]
    public async Task ChunkedBodyOverLimit_GetsRequestTooLarge()
    {
        using var http = gateway.Http();
        var body = "{\"model\":\"base-model\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('b', 80_000) + "\"}]}";
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await http.SendAsync(request);

        await AssertErrorAsync(response, 413, "request_too_large", "chunked");
    }

    [Fact]
    public async Task GetOnChatCompletions_GetsMethodNotAllowed()
    {
        using var http = gateway.Http();
        using var response = await http.GetAsync("/v1/chat/completions");
        await AssertErrorAsync(response, 405, "method_not_allowed", "GET");
    }

    [Theory]
    [InlineData(null, 401, "missing_api_key")]
    [InlineData("sk-wrong", 401, "invalid_api_key")]
    [InlineData(GatewayFixture.AdminKey, 401, "invalid_api_key")]
    public async Task V1_WithoutAValidApiKey_IsRejected(string? key, int status, string code)
    {
        using var http = gateway.Http(key);
        using var response = await http.PostAsync("/v1/chat/completions",
            new StringContent("""{"model":"base-model","messages":[{"role":"user","content":"x"}]}""", Encoding.UTF8, "application/json"));
        await AssertErrorAsync(response, status, code, key ?? "no key");
    }

    [Theory]
    [InlineData(null, 401, "missing_admin_key")]
    [InlineData(GatewayFixture.ApiKey, 403, "invalid_admin_key")]
    [InlineData("nope", 403, "invalid_admin_key")]
    public async Task Admin_WithoutTheAdminKey_IsRejected(string? key, int status, string code)
    {
        using var http = gateway.Http(key);
        using var response = await http.GetAsync("/admin/routing");
        await AssertErrorAsync(response, status, code, key ?? "no key");
    }

    [Fact]
    public async Task InvalidTaskTag_GetsClientError()
    {
        using var http = gateway.Http();
        using var request = GatewayCalls.Json("/v1/chat/completions", """{"model":"base-model","messages":[{"role":"user","content":"x"}]}""");
        request.Headers.Add("x-tao-task", "bad task; drop table");
        using var response = await http.SendAsync(request);
        await AssertErrorAsync(response, 400, "invalid_task", "task");
    }

    [Fact]
    public async Task AdminBodyThatIsNotJson_GetsClientError()
    {
        using var http = gateway.Http(GatewayFixture.AdminKey);
        using var response = await http.PutAsync("/admin/aliases/support-bot", new StringContent("{not json", Encoding.UTF8, "application/json"));
        Assert.InRange((int)response.StatusCode, 400, 499);
        await AssertErrorAsync(response, (int)response.StatusCode, null, "admin body");
    }

    [Fact]
    public async Task SlowBody_GetsRequestTimeoutInsteadOfHoldingTheGateway()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(gateway.Address.Host, gateway.Address.Port);
        var head = $"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {GatewayFixture.ApiKey}\r\n" +
                   "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head));

        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
        var answer = Encoding.UTF8.GetString(buffer, 0, read);

        Assert.StartsWith("HTTP/1.1 408", answer);
        Assert.Contains("\"request_timeout\"", answer);
    }
}
