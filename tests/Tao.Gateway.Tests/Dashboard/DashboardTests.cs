using System.Net;
using Microsoft.Playwright;

namespace Tao.Gateway.Tests.Dashboard;

/// <summary>The analytics seed plus a request whose prompt is an HTML injection attempt.</summary>
public sealed class DashboardFixture : AnalyticsFixture
{
    public const string HostilePrompt = "<img src=x onerror=\"document.title='owned'\"><script>document.title='owned'</script> hostile";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.captures (request_id, schema_version, started_at, completed_at, latency_ms, endpoint, status, model, task, prompt, prompt_hash, response_text)
            VALUES (generateUUIDv4(), 1, now64(6) - 60, now64(6) - 59, 12, 'chat', 200, 'small', 'support', '{HostilePrompt.Replace("'", "\\'")}', 7777, '<b>bold?</b>')
            """);
        // Users' thumbs on 200 of the calls: small's answers liked, gpt-big's not.
        await Store.Client.ExecuteNonQueryAsync($"""
            INSERT INTO {Database}.feedback (feedback_id, target_id, level, metric, kind, value, api_key_id, created_at, gateway)
            SELECT generateUUIDv4(request_id), toString(request_id), 'request', 'thumbs_up', 'boolean', if(model = 'small', 1, 0), api_key_id, started_at, 'gw'
            FROM {Database}.captures WHERE status = 200 ORDER BY request_id LIMIT 200
            """);
    }
}

/// <summary>
/// The dashboard in Debian's Chromium, driven by Playwright: sign-in, charts drawn from the seeded store, filters
/// changing what is shown, the flywheel timeline, the request explorer, no console errors, no HTML injection.
/// Screenshots land in artifacts/screenshots.
/// </summary>
public sealed class DashboardTests(DashboardFixture gateway) : IClassFixture<DashboardFixture>
{
    private static readonly string s_screenshots = Path.Combine(RepositoryRoot(), "artifacts", "screenshots");

    [Fact]
    public async Task Dashboard_SignsIn_RendersCharts_FiltersAndExploresRequests_WithoutConsoleErrors()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium(),
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1800 } });
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.Contains("401", StringComparison.Ordinal))
            {
                problems.Add(message.Text);
            }
        };
        page.PageError += (_, error) => problems.Add(error);
        Directory.CreateDirectory(s_screenshots);

        // Without a session: the sign-in form; a wrong key is refused.
        await page.GotoAsync(new Uri(gateway.Address, "/dashboard").ToString());
        await page.FillAsync("#key", "not-the-admin-key");
        await page.ClickAsync("button[type=submit]");
        Assert.Contains("not the admin key", await page.TextContentAsync("body"));

        await page.FillAsync("#key", GatewayFixture.AdminKey);
        await page.ClickAsync("button[type=submit]");
        await WaitForRefreshAsync(page, 1);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(s_screenshots, "dashboard-overview.png"), FullPage = true });

        Assert.Equal("1,001", await page.TextContentAsync("#kpi-requests"));
        Assert.Equal("2", await page.GetAttributeAsync("svg[data-chart=requests]", "data-series")); // grouped by model: gpt-big, small
        Assert.True(int.Parse(await page.GetAttributeAsync("svg[data-chart=requests]", "data-points") ?? "0") >= 10);
        Assert.Equal(2, await page.Locator("svg[data-chart=requests] path.series").CountAsync());
        Assert.Equal(3, await page.Locator("svg[data-chart=latency] path.series").CountAsync()); // p50, p95, p99
        Assert.Equal(2, await page.Locator("#groups tbody tr").CountAsync());
        Assert.Equal(2, await page.Locator("#timeline circle[data-version]").CountAsync());
        Assert.Contains("promoted", await page.TextContentAsync("#rounds tbody"));
        Assert.True(await page.IsVisibleAsync("#feedback"));
        Assert.Matches(@"thumbs_up \(request\): [0-9.]+ % ± [0-9.]+ % \(1[0-9]{2} rated\)", await page.TextContentAsync("figure[data-metric=thumbs_up] figcaption"));
        Assert.Equal("2", await page.GetAttributeAsync("svg[data-chart=feedback-thumbs_up]", "data-series")); // per model
        Assert.Contains("no feedback", await page.TextContentAsync("figure[data-metric=rating] figcaption"));
        Assert.Contains(AnalyticsFixture.SearchedPrompt, await page.TextContentAsync("#top tbody"));

        // A filter narrows everything.
        await page.SelectOptionAsync("select[name=model]", "gpt-big");
        await WaitForRefreshAsync(page, 2);
        Assert.Equal("250", await page.TextContentAsync("#kpi-requests"));
        Assert.Equal(1, await page.Locator("#groups tbody tr").CountAsync());
        Assert.Equal("1", await page.GetAttributeAsync("svg[data-chart=requests]", "data-series"));

        // Grouping by task splits the series.
        await page.SelectOptionAsync("select[name=model]", "");
        await page.SelectOptionAsync("select[name=group_by]", "task");
        await WaitForRefreshAsync(page, 4);
        var names = await page.Locator("svg[data-chart=requests] path.series").EvaluateAllAsync<string[]>("paths => paths.map(p => p.dataset.series).sort()");
        Assert.Equal(["sql", "support"], names);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(s_screenshots, "dashboard-by-task.png"), FullPage = true });

        // The explorer finds requests and shows one in full.
        await page.FillAsync("#search input", "reset my password");
        await page.ClickAsync("#search button");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#results tbody tr[data-request-id]').length > 0");
        Assert.Equal(100, await page.Locator("#results tbody tr[data-request-id]").CountAsync()); // 200 match; the explorer shows 100
        await page.Locator("#results tbody tr[data-request-id]").First.ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('detail').textContent.includes('response_text')");
        Assert.Contains(AnalyticsFixture.SearchedPrompt, await page.TextContentAsync("#detail"));

        // A prompt carrying HTML is shown as text, never run.
        await page.FillAsync("#search input", "hostile");
        await page.ClickAsync("#search button");
        await page.WaitForFunctionAsync("() => document.querySelector('#results tbody').dataset.query === 'hostile' && document.querySelectorAll('#results tbody tr[data-request-id]').length === 1");
        Assert.Equal(0, await page.Locator("#results img, #results script, #results b").CountAsync());
        Assert.Contains("<img src=x", await page.TextContentAsync("#results tbody"));
        Assert.NotEqual("owned", await page.TitleAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(s_screenshots, "dashboard-explorer.png"), FullPage = true });

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task TheSessionCookie_ReadsAnalytics_ButChangesNothing()
    {
        using var handler = new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false };
        using var http = new HttpClient(handler) { BaseAddress = gateway.Address };
        using var login = await http.PostAsync("/dashboard/login", new FormUrlEncodedContent([new("key", GatewayFixture.AdminKey)]));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        var session = cookie.Split(';')[0];

        using var read = new HttpRequestMessage(HttpMethod.Get, "/admin/analytics/summary?window=24h");
        read.Headers.Add("Cookie", session);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(read)).StatusCode);

        using var write = new HttpRequestMessage(HttpMethod.Put, "/admin/aliases/cookie-bot") { Content = new StringContent("""{"target":"base-model"}""", System.Text.Encoding.UTF8, "application/json") };
        write.Headers.Add("Cookie", session);
        await GatewayCalls.AssertErrorAsync(await http.SendAsync(write), 401, "missing_admin_key", "a cookie must not authorize changes");

        using var routing = new HttpRequestMessage(HttpMethod.Get, "/admin/routing");
        routing.Headers.Add("Cookie", session);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(routing)).StatusCode);

        using var forged = new HttpRequestMessage(HttpMethod.Get, "/admin/analytics/summary");
        forged.Headers.Add("Cookie", session[..^3] + "abc");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(forged)).StatusCode);
    }

    private static async Task WaitForRefreshAsync(IPage page, int atLeast) =>
        await page.WaitForFunctionAsync($"() => document.body.dataset.state === 'ready' && Number(document.body.dataset.refreshes || 0) >= {atLeast}",
            null, new PageWaitForFunctionOptions { Timeout = 30_000 });

    private static string Chromium() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("Debian's chromium is not installed; ./tao test installs it (apt-get install chromium).");

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Tao.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? AppContext.BaseDirectory;
    }
}
