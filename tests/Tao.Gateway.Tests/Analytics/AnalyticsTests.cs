using System.Text.Json;

namespace Tao.Gateway.Tests.Analytics;

public sealed class AnalyticsTests(AnalyticsFixture gateway) : IClassFixture<AnalyticsFixture>
{
    private readonly HttpClient _admin = gateway.Http(GatewayFixture.AdminKey);

    [Theory]
    [InlineData("raw")]
    [InlineData("rollup")]
    public async Task Summary_ByModel_CountsTokensCostAndPercentiles_FromEitherSource(string source)
    {
        using var document = await GetAsync($"/admin/analytics/summary?window=24h&group_by=model&source={source}");
        Assert.Equal(source, document.RootElement.GetProperty("source").GetString());
        var rows = document.RootElement.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("group").GetString()!);

        var small = rows["small"];
        Assert.Equal(750, small.GetProperty("requests").GetInt64());
        Assert.Equal(50, small.GetProperty("errors").GetInt64()); // multiples of 10 that are not multiples of 4
        Assert.Equal(50.0 / 750, small.GetProperty("error_rate").GetDouble(), 6);
        Assert.Equal(75_000, small.GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(0.09, small.GetProperty("cost_usd").GetDouble(), 6); // priced through its alias: 750 × (100×1 + 10×2) / 1e6
        Assert.Equal(0.325, rows["gpt-big"].GetProperty("cost_usd").GetDouble(), 6); // 250 × (100×10 + 10×30) / 1e6
        Assert.InRange(small.GetProperty("latency_p50_ms").GetDouble(), 45, 56); // uniform 1..100
        Assert.InRange(small.GetProperty("latency_p99_ms").GetDouble(), 95, 100.5);
        Assert.Equal(5, small.GetProperty("ttft_p50_ms").GetDouble(), 3); // the NULL third is skipped
        Assert.Equal("small", document.RootElement.GetProperty("rows")[0].GetProperty("group").GetString()); // most requests first
    }

    [Fact]
    public async Task Summary_AutoSource_UsesTheRollupUnlessAskedAboutUsersOrStatus()
    {
        using (var rollup = await GetAsync("/admin/analytics/summary?window=24h&task=sql"))
        {
            Assert.Equal("rollup", rollup.RootElement.GetProperty("source").GetString());
            Assert.Equal(500, rollup.RootElement.GetProperty("rows")[0].GetProperty("requests").GetInt64());
        }

        using var raw = await GetAsync("/admin/analytics/summary?window=24h&group_by=user&status=error");
        Assert.Equal("raw", raw.RootElement.GetProperty("source").GetString());
        var rows = raw.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(7, rows.Count);
        Assert.Equal(100, rows.Sum(r => r.GetProperty("requests").GetInt64()));
        Assert.All(rows, r => Assert.Equal(1.0, r.GetProperty("error_rate").GetDouble()));
    }

    [Theory]
    [InlineData("raw")]
    [InlineData("rollup")]
    public async Task Summary_ByApiSurface_ReadsVersion1sChatCompletionsAsChat(string source)
    {
        var window = $"from={gateway.SurfacesDay:yyyy-MM-ddTHH:mm:ssZ}&to={gateway.SurfacesDay.AddHours(1):yyyy-MM-ddTHH:mm:ssZ}";

        using var grouped = await GetAsync($"/admin/analytics/summary?{window}&group_by=endpoint&source={source}");
        using var chatOnly = await GetAsync($"/admin/analytics/summary?{window}&endpoint=chat&source={source}");
        using var dimensions = await GetAsync($"/admin/analytics/dimensions?{window}");

        var rows = grouped.RootElement.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("group").GetString()!, r => r.GetProperty("requests").GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["chat"] = 20, ["responses"] = 10, ["messages"] = 10 }, rows);
        Assert.Equal(20, chatOnly.RootElement.GetProperty("rows")[0].GetProperty("requests").GetInt64());
        Assert.Equal(["chat", "messages", "responses"], dimensions.RootElement.GetProperty("endpoint").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task TimeSeries_BucketsByHour_AndGroups()
    {
        using var document = await GetAsync("/admin/analytics/timeseries?window=24h&bucket=1h&group_by=task");
        Assert.Equal(3600, document.RootElement.GetProperty("bucket_seconds").GetInt32());
        var rows = document.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(10, rows.Count); // hour = n % 10 and task = n % 2: each hour holds one task
        Assert.All(rows, r => Assert.Equal(100, r.GetProperty("requests").GetInt64()));
        Assert.Equal(5, rows.Count(r => r.GetProperty("group").GetString() == "sql"));
        var buckets = rows.Select(r => r.GetProperty("bucket").GetDateTime()).Distinct().Order().ToList();
        Assert.Equal(gateway.Start, buckets[0].ToUniversalTime());
        Assert.Equal(gateway.Start.AddHours(9), buckets[^1].ToUniversalTime());
    }

    [Fact]
    public async Task TopPrompts_CountsNormalisedPrompts()
    {
        using var document = await GetAsync("/admin/analytics/top-prompts?window=24h&limit=3");
        var top = document.RootElement.GetProperty("rows")[0];
        Assert.Equal("42", top.GetProperty("prompt_hash").GetString());
        Assert.Equal(200, top.GetProperty("requests").GetInt64());
        Assert.Equal(AnalyticsFixture.SearchedPrompt, top.GetProperty("prompt").GetString());
        Assert.Equal(7, top.GetProperty("users").GetInt64());
        Assert.Equal(3, document.RootElement.GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public async Task Search_FindsTextInPromptsAndResponses_CaseInsensitively()
    {
        using (var prompts = await GetAsync("/admin/analytics/search?window=24h&q=reset%20my%20password&limit=1000"))
        {
            Assert.Equal(200, prompts.RootElement.GetProperty("rows").GetArrayLength());
        }

        using (var responses = await GetAsync("/admin/analytics/search?window=24h&q=ANSWER%20999"))
        {
            Assert.Equal("answer 999", Assert.Single(responses.RootElement.GetProperty("rows").EnumerateArray()).GetProperty("response").GetString());
        }

        using var none = await GetAsync("/admin/analytics/search?window=24h&q=%27%20OR%201%3D1%20--");
        Assert.Equal(0, none.RootElement.GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public async Task Request_ById_ReturnsTheFullRecord()
    {
        using var document = await GetAsync($"/admin/analytics/requests/{AnalyticsFixture.KnownRequest}");
        Assert.Equal("prompt number 7", document.RootElement.GetProperty("prompt").GetString());
        Assert.Equal("answer 7", document.RootElement.GetProperty("response_text").GetString());

        using var missing = await _admin.GetAsync($"/admin/analytics/requests/{Guid.NewGuid()}");
        await GatewayCalls.AssertErrorAsync(missing, 404, "not_found", "No captured request");
        using var malformed = await _admin.GetAsync("/admin/analytics/requests/not-a-uuid");
        await GatewayCalls.AssertErrorAsync(malformed, 400, null, "UUID");
    }

    [Fact]
    public async Task FlywheelViews_ShowRoundsTheirInputsAndVersions()
    {
        using (var rounds = await GetAsync("/admin/analytics/rounds?group=shop"))
        {
            var round = Assert.Single(rounds.RootElement.GetProperty("rows").EnumerateArray());
            Assert.Equal("promoted", round.GetProperty("decision").GetString());
            Assert.Equal(61.5, round.GetProperty("duration_s").GetDouble());
        }

        using (var inputs = await GetAsync("/admin/analytics/rounds/round-a/inputs"))
        {
            var rows = inputs.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(2, rows.Count);
            Assert.Equal("prompt number 7", rows.Single(r => r.GetProperty("role").GetString() == "tuning").GetProperty("prompt").GetString());
        }

        using var versions = await GetAsync("/admin/analytics/versions?group=shop");
        Assert.Equal(["base", "r1"], versions.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("version").GetString()));
        using (var none = await GetAsync("/admin/analytics/rounds?task=nothing"))
        {
            Assert.Equal(0, none.RootElement.GetProperty("rows").GetArrayLength());
        }
    }

    [Fact]
    public async Task Dimensions_ListTheValuesSeenInTheWindow()
    {
        using var document = await GetAsync("/admin/analytics/dimensions?window=24h");
        Assert.Equal(["gpt-big", "small"], document.RootElement.GetProperty("model").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["sql", "support"], document.RootElement.GetProperty("task").EnumerateArray().Select(e => e.GetString()));
    }

    [Theory]
    [InlineData("/admin/analytics/summary?windw=24h", "windw")]
    [InlineData("/admin/analytics/summary?window=2y", "window")]
    [InlineData("/admin/analytics/summary?from=yesterday", "from")]
    [InlineData("/admin/analytics/summary?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from")]
    [InlineData("/admin/analytics/summary?group_by=model;DROP%20TABLE%20captures", "group_by")]
    [InlineData("/admin/analytics/summary?status=teapot", "status")]
    [InlineData("/admin/analytics/summary?limit=0", "limit")]
    [InlineData("/admin/analytics/summary?limit=1e3", "limit")]
    [InlineData("/admin/analytics/summary?model=a&model=b", "model")]
    [InlineData("/admin/analytics/summary?source=rollup&group_by=user", "source")]
    [InlineData("/admin/analytics/timeseries?window=90d&bucket=1m", "bucket")]
    [InlineData("/admin/analytics/search?window=24h", "q")]
    [InlineData("/admin/analytics/rounds?limit=-1", "limit")]
    [InlineData("/admin/analytics/versions?grp=shop", "grp")]
    public async Task BadFilters_Get400NamingTheParameter(string url, string parameter)
    {
        using var response = await _admin.GetAsync(url);
        Assert.Equal(400, (int)response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(parameter, body.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task FilterValues_AreData_NotSql()
    {
        foreach (var hostile in new[] { "' OR 1=1 --", "small' OR '1'='1", "x\\' OR 1=1; DROP TABLE captures; --", "{f_model:String}", "small\u0000" })
        {
            using var document = await GetAsync($"/admin/analytics/summary?window=24h&source=raw&model={Uri.EscapeDataString(hostile)}");
            Assert.Equal(0, document.RootElement.GetProperty("rows").GetArrayLength());
        }

        Assert.Equal(1040L, await gateway.CountAsync()); // the seeded 1000 and the 40 on every surface: nothing dropped
    }

    [Fact]
    public async Task Analytics_NeedsTheAdminKey()
    {
        using var anonymous = gateway.Http(null);
        await GatewayCalls.AssertErrorAsync(await anonymous.GetAsync("/admin/analytics/summary"), 401, "missing_admin_key", "admin key");
        using var client = gateway.Http();
        await GatewayCalls.AssertErrorAsync(await client.GetAsync("/admin/analytics/summary"), 403, "invalid_admin_key", "not the admin key");
    }

    private async Task<JsonDocument> GetAsync(string url)
    {
        using var response = await _admin.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{url}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text);
    }
}
