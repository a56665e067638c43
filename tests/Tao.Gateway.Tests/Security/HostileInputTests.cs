using System.Net.Sockets;
using ClickHouse.Driver.Utility;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tao.Gateway.Tests.Security;

/// <summary>
/// The hostile corpus's gateway: debug logging on, so every log line can be searched for secrets; and a store holding
/// captures of two tasks, keys, users, models and endpoints and flywheel rounds and versions of two groups, so a filter
/// value that escaped its parameter would bring back rows (of the other task or group) instead of an empty answer.
/// </summary>
public sealed class HostileFixture() : GatewayFixture(new Dictionary<string, string?>
{
    ["Logging:LogLevel:Default"] = "Debug",
})
{
    /// <summary>Seeded rows per table: none of the corpus's requests may change these.</summary>
    public static readonly (string Table, string Where, long Rows)[] Seeded =
    [
        ("captures FINAL", "startsWith(prompt, 'hostile seed')", 20),
        ("flywheel_rounds FINAL", "1", 2),
        ("model_versions FINAL", "1", 4),
        ("round_inputs", "1", 4),
    ];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        // 12 calls of task support (key_support, user-a, base-model behind support-bot, chat) and 8 of task sql
        // (key_sql, user-b, tuned-model, completions), within the last hour.
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.captures (request_id, schema_version, started_at, completed_at, latency_ms, endpoint, status,
                model, alias, model_version, task, api_key_id, end_user, prompt, prompt_hash, response_text, prompt_tokens, completion_tokens)
            SELECT
                toUUID(concat('00000000-0000-4000-8000-', leftPad(toString(number), 12, '0'))),
                1,
                now64(6) - toIntervalMinute(30) + toIntervalSecond(number),
                now64(6) - toIntervalMinute(30) + toIntervalSecond(number + 1),
                10,
                if(number < 12, 'chat', 'completions'),
                200,
                if(number < 12, 'base-model', 'tuned-model'),
                if(number < 12, 'support-bot', ''),
                if(number < 12, 'base', 'r1'),
                if(number < 12, 'support', 'sql'),
                if(number < 12, 'key_support', 'key_sql'),
                if(number < 12, 'user-a', 'user-b'),
                concat('hostile seed ', if(number < 12, 'support', 'sql'), ' question ', toString(number)),
                9000 + number,
                'answer',
                10,
                5
            FROM numbers(20)
            """);
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.flywheel_rounds (round_id, model_group, tasks, status, started_at, updated_at, inputs, parent_version,
                candidate_version, reward_first, reward_last, decision, reason, duration_s)
            VALUES ('round-shop', 'shop', ['support'], 'done', now64(3), now64(3), 2, 'base', 'r1', 0.4, 0.7, 'promoted', 'won', 60),
                   ('round-invoices', 'invoices', ['sql'], 'done', now64(3), now64(3), 2, 'inv-base', 'inv-r1', 0.4, 0.5, 'rejected', 'lost', 60)
            """);
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.round_inputs (round_id, request_id, prompt_hash, task, role)
            VALUES ('round-shop', toUUID('00000000-0000-4000-8000-000000000000'), 9000, 'support', 'tuning'),
                   ('round-shop', toUUID('00000000-0000-4000-8000-000000000001'), 9001, 'support', 'held_out'),
                   ('round-invoices', toUUID('00000000-0000-4000-8000-000000000012'), 9012, 'sql', 'tuning'),
                   ('round-invoices', toUUID('00000000-0000-4000-8000-000000000013'), 9013, 'sql', 'held_out')
            """);
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.model_versions (version, model_group, parent, created_at, updated_at, status, round_id, evaluation, decision)
            VALUES ('base', 'shop', '', now64(3) - 100, now64(3), 'base', '', '', 'initial version'),
                   ('r1', 'shop', 'base', now64(3), now64(3), 'promoted', 'round-shop', '', 'won'),
                   ('inv-base', 'invoices', '', now64(3) - 100, now64(3), 'base', '', '', 'initial version'),
                   ('inv-r1', 'invoices', 'inv-base', now64(3), now64(3), 'rejected', 'round-invoices', '', 'lost')
            """);
    }
}

/// <summary>
/// Replays Hostile/corpus.jsonl (data, one case per line): malformed and oversized bodies, wrong types, bad encodings,
/// protocol-level attacks, slow bodies, missing and wrong keys, path traversal, SQL injection in every analytics
/// filter, secrets smuggled into requests. Every case gets its expected 4xx (OpenAI-style error body unless Kestrel
/// rejects it at the HTTP layer before Tao runs) or a 2xx where the request is legitimate; never a 5xx; the gateway
/// stays up; and no smuggled secret appears in a stored record or a log line. An injection case expecting no rows names
/// a control request, the same query with a real value, that must find seeded rows: the case can fail.
/// </summary>
public sealed class HostileInputTests(HostileFixture gateway) : IClassFixture<HostileFixture>
{
    private static readonly string s_corpus = Path.Combine(AppContext.BaseDirectory, "Hostile", "corpus.jsonl");

    [Fact]
    public void TheCorpus_HasAtLeastFiftyNamedCases()
    {
        var names = File.ReadLines(s_corpus).Select(l => JsonNode.Parse(l)!["name"]!.GetValue<string>()).ToList();
        Assert.True(names.Count >= 50, $"{names.Count} cases");
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public async Task EveryCase_GetsItsExpectedAnswer_NeverA5xx_AndNoSecretIsStoredOrLogged()
    {
        var failures = new List<string>();
        var secrets = new List<string>();
        var answered = new List<Guid>();
        foreach (var line in File.ReadLines(s_corpus))
        {
            var test = JsonNode.Parse(line)!.AsObject();
            var name = test["name"]!.GetValue<string>();
            try
            {
                var (status, body, requestId) = await SendAsync(test);
                var upstreamFailed = status >= 500 && requestId is not null && test["upstream_may_fail"]?.GetValue<bool>() == true;
                if (requestId is { } id && (status < 300 || upstreamFailed))
                {
                    answered.Add(id); // proxied: its record must exist, whatever the upstream made of it
                }

                if (!upstreamFailed && Check(test, status, body) is { } problem)
                {
                    var errors = gateway.Logs.Where(l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal)).TakeLast(1);
                    failures.Add($"{name}: {problem} {string.Join(" ", errors).Split('\n')[0]}");
                }

                if (test["secret"]?.GetValue<string>() is { } secret)
                {
                    secrets.Add(Substitute(secret));
                }
            }
            catch (Exception e)
            {
                failures.Add($"{name}: {e.GetType().Name}: {e.Message}");
            }

            if (test["control"]?.GetValue<string>() is { } control && await ControlAsync(control, test["control_rows"]?.GetValue<int>()) is { } weak)
            {
                failures.Add($"{name}: {weak}");
            }

            using var health = gateway.Http(null);
            if ((int)(await health.GetAsync("/healthz")).StatusCode != 200)
            {
                failures.Add($"{name}: the gateway stopped answering /healthz");
                break;
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // No case changed the seeded data (the corpus tries DROP TABLE and UNION among others).
        foreach (var (table, where, rows) in HostileFixture.Seeded)
        {
            Assert.Equal(rows, Convert.ToInt64(await gateway.Store.Client.ExecuteScalarAsync($"SELECT count() FROM {gateway.Database}.{table} WHERE {where}")));
        }

        // Every legitimate call is captured; none of the captured rows or log lines holds a smuggled secret.
        foreach (var id in answered)
        {
            await gateway.WaitForRecordAsync(id);
        }

        foreach (var secret in secrets)
        {
            var parameters = new ClickHouse.Driver.ADO.Parameters.ClickHouseParameterCollection();
            parameters.AddParameter("s", secret);
            var found = Convert.ToInt64(await gateway.Store.Client.ExecuteScalarAsync(
                $"SELECT count() FROM {gateway.Database}.captures WHERE position(request_json, {{s:String}}) > 0 OR position(prompt, {{s:String}}) > 0 " +
                "OR position(response_text, {s:String}) > 0 OR position(error_message, {s:String}) > 0 OR position(end_user, {s:String}) > 0", parameters));
            Assert.True(found == 0, $"secret '{secret}' stored in {found} record(s)");
            Assert.DoesNotContain(gateway.Logs, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    private static string? Check(JsonObject test, int status, string body)
    {
        var expectedExactly = test["expect"]!.GetValueKind() == JsonValueKind.Number ? test["expect"]!.GetValue<int>() : 0;
        if ((status >= 500 && status != expectedExactly) || status == 0)
        {
            return $"got {status}: {Shorten(body)}";
        }

        var expect = test["expect"]!;
        var ok = expect.GetValueKind() == JsonValueKind.Number
            ? status == expect.GetValue<int>()
            : expect.GetValue<string>() switch
            {
                "4xx" => status is >= 400 and < 500,
                "2xx" => status is >= 200 and < 300,
                "any_not_5xx" => true,
                var other => throw new InvalidOperationException($"unknown expectation {other}"),
            };
        if (!ok)
        {
            return $"expected {expect.ToJsonString()}, got {status}: {Shorten(body)}";
        }

        var protocolLevel = test["protocol_level"]?.GetValue<bool>() == true || test["any_body"]?.GetValue<bool>() == true;
        if (status >= 400 && !protocolLevel)
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                var error = document.RootElement.GetProperty("error");
                if (string.IsNullOrEmpty(error.GetProperty("message").GetString()) || string.IsNullOrEmpty(error.GetProperty("type").GetString()))
                {
                    return "error body without message or type";
                }

                if (test["code"]?.GetValue<string>() is { } code && error.GetProperty("code").GetString() != code)
                {
                    return $"expected code {code}, got {error.GetProperty("code")}";
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                return $"not an OpenAI-style error body: {Shorten(body)}";
            }
        }

        if (test["expect_empty_rows"]?.GetValue<bool>() == true)
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.GetProperty("rows").GetArrayLength() != 0)
            {
                return "a filter value acted as SQL: rows came back";
            }
        }

        return null;
    }

    /// <summary>The control of an injection case: the same query with a real value must find seeded rows (exactly <paramref name="rows"/> when given).</summary>
    private async Task<string?> ControlAsync(string path, int? rows)
    {
        using var http = gateway.Http(GatewayFixture.AdminKey);
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            return $"control {path} got {(int)response.StatusCode}: {Shorten(body)}";
        }

        using var document = JsonDocument.Parse(body);
        var found = document.RootElement.GetProperty("rows").GetArrayLength();
        return found == 0 ? $"control {path} found no rows: the case could not fail"
            : rows is { } expected && found != expected ? $"control {path} found {found} rows, expected {expected}"
            : null;
    }

    private async Task<(int Status, string Body, Guid? RequestId)> SendAsync(JsonObject test)
    {
        if (test["raw"]?.GetValue<string>() is { } raw)
        {
            return await RawAsync(Encoding.Latin1.GetBytes(Substitute(raw)), slowTail: null);
        }

        var method = test["method"]?.GetValue<string>() ?? "POST";
        var path = test["path"]!.GetValue<string>();
        var body = Body(test);
        var contentType = test["content_type"]?.GetValue<string>() ?? (body is null ? null : "application/json");
        var key = (test["key"]?.GetValue<string>() ?? "client") switch
        {
            "client" => GatewayFixture.ApiKey,
            "admin" => GatewayFixture.AdminKey,
            "wrong" => "sk-not-a-real-key",
            _ => null,
        };

        byte[] RawHead(byte[] content) => Encoding.ASCII.GetBytes(
            $"{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {key}\r\nContent-Type: {contentType}\r\nContent-Length: {content.Length}\r\n\r\n");

        if (test["slow"]?.GetValue<bool>() == true)
        {
            var content = body!;
            return await RawAsync([.. RawHead(content), .. content.AsSpan(0, 1)], slowTail: content[1..]);
        }

        if (body is { Length: > 1 << 20 })
        {
            // The gateway answers 413 and closes before taking a huge body; HttpClient reports the close, not the answer.
            return await RawAsync([.. RawHead(body), .. body], slowTail: null);
        }

        using var http = gateway.Http(key);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        foreach (var (name, value) in test["headers"]?.AsObject() ?? [])
        {
            if (!request.Headers.TryAddWithoutValidation(name, Substitute(value!.GetValue<string>())))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, Substitute(value.GetValue<string>()));
            }
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Guid? id = response.Headers.TryGetValues("x-tao-request-id", out var ids) && Guid.TryParse(ids.First(), out var parsed) ? parsed : null;
        return ((int)response.StatusCode, text, id);
    }

    private static byte[]? Body(JsonObject test)
    {
        if (test["body"]?.GetValue<string>() is { } text)
        {
            return Encoding.UTF8.GetBytes(text);
        }

        if (test["body_hex"]?.GetValue<string>() is { } hex)
        {
            return Convert.FromHexString(hex);
        }

        if (test["nest"]?.GetValue<int>() is { } depth)
        {
            return Encoding.UTF8.GetBytes("""{"model":"base-model","messages":[{"role":"user","content":"x"}],"x":""" + new string('[', depth) + new string(']', depth) + "}");
        }

        if (test["nest_objects"]?.GetValue<int>() is { } objects)
        {
            var builder = new StringBuilder("""{"model":"base-model","messages":[{"role":"user","content":"x"}],"x":""");
            for (var i = 0; i < objects; i++)
            {
                builder.Append("{\"a\":");
            }

            builder.Append('1').Append('}', objects).Append('}');
            return Encoding.UTF8.GetBytes(builder.ToString());
        }

        if (test["repeat"] is JsonObject repeat)
        {
            var builder = new StringBuilder(repeat["prefix"]!.GetValue<string>());
            builder.Insert(builder.Length, repeat["unit"]!.GetValue<string>(), repeat["times"]!.GetValue<int>());
            builder.Append(repeat["suffix"]!.GetValue<string>());
            return Encoding.UTF8.GetBytes(builder.ToString());
        }

        return null;
    }

    /// <summary>Speaks HTTP/1.1 on a raw socket: for what HttpClient refuses to send. Returns the first response's status.</summary>
    private async Task<(int Status, string Body, Guid? RequestId)> RawAsync(byte[] request, byte[]? slowTail)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(gateway.Address.Host, gateway.Address.Port);
        var stream = client.GetStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await stream.WriteAsync(request, timeout.Token);
            if (slowTail is not null)
            {
                foreach (var b in slowTail.Take(8))
                {
                    await Task.Delay(800, timeout.Token);
                    await stream.WriteAsync(new[] { b }, timeout.Token);
                }
            }
        }
        catch (IOException)
        {
            // The server may answer and close before taking everything; its answer is what counts.
        }

        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
                if (received.Length > 1 << 20)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
        }

        var text = Encoding.Latin1.GetString(received.ToArray());
        if (text.IndexOf("HTTP/1.1 200", 12, StringComparison.Ordinal) > 0)
        {
            return (599, "a smuggled second request was answered: " + text, null);
        }

        var status = text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && int.TryParse(text.AsSpan(9, 3), out var code) ? code : 0;
        var separator = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return (status, separator < 0 ? text : text[(separator + 4)..], null);
    }

    private static string Substitute(string text) => text.Replace("{client}", GatewayFixture.ApiKey, StringComparison.Ordinal)
        .Replace("{admin}", GatewayFixture.AdminKey, StringComparison.Ordinal);

    private static string Shorten(string text) => text.Length > 300 ? text[..300] + "…" : text;
}
