using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Spectre.Console;
using Tao.Gateway.Analytics;
using Tao.Hosting;
using Tao.Storage;

namespace Tao.Cli.Commands;

/// <summary>
/// tao stats / tao top-prompts: the analytics API's answers as terminal tables, read from the store directly
/// (embedded or the configured ClickHouse server) or, with --gateway, from a running gateway's analytics API.
/// </summary>
internal static class StatsCommand
{
    private static readonly string[] s_filters = ["model", "alias", "version", "task", "key", "user", "endpoint"];

    public static Command CreateStats()
    {
        var shared = new SharedOptions();
        var groupBy = new Option<string?>("--group-by", "-g")
        {
            Description = "Group by model, alias, version, task, key, user or endpoint (the API surface: chat, responses, messages, completions, embeddings).",
        };
        var series = new Option<bool>("--series") { Description = "One row per time bucket (see --bucket) instead of totals." };
        var bucket = new Option<string?>("--bucket") { Description = "Time series bucket: 1m, 5m, 15m, 1h, 6h, 1d. Default: about 100 points." };
        var source = new Option<string?>("--source") { Description = "auto (rollup when it can answer), raw (exact, from captures), rollup." };
        var metric = new Option<string?>("--metric") { Description = "Instead of traffic: a feedback metric's count, mean (rate for booleans) and 95 % interval per group or bucket." };
        var command = new Command("stats",
            "Traffic over a window: requests, error rate, tokens, cost, latency / time-to-first-token / time-per-output-token percentiles, " +
            "grouped or as a time series. Reads the embedded store (or Tao:ClickHouse:Url), or a running gateway with --gateway. " + TaoConfiguration.EnvironmentHelp)
        {
            groupBy, series, bucket, source, metric,
        };
        shared.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var query = shared.Query(result);
            Add(query, "group_by", result.GetValue(groupBy));
            Add(query, "bucket", result.GetValue(bucket));
            var isSeries = result.GetValue(series);
            if (result.GetValue(metric) is { } name)
            {
                Add(query, "metric", name);
                return await RunAsync(result, shared, isSeries ? "feedback/timeseries" : "feedback", query, cancellationToken, document => PrintFeedback(document, isSeries, result.GetValue(groupBy)));
            }

            Add(query, "source", result.GetValue(source));
            return await RunAsync(result, shared, isSeries ? "timeseries" : "summary", query, cancellationToken, (document) =>
            {
                var rows = document.GetProperty("rows").EnumerateArray().ToList();
                var grouped = rows.Any(r => r.TryGetProperty("group", out _));
                var table = new Table().RoundedBorder();
                if (isSeries)
                {
                    table.AddColumn("bucket (UTC)");
                }

                if (grouped)
                {
                    table.AddColumn(result.GetValue(groupBy) ?? "group");
                }

                foreach (var column in new[] { "requests", "errors %", "prompt tok", "compl. tok", "cost $", "latency p50/p95/p99 ms", "TTFT p50/p99 ms", "TPOT p50 ms" })
                {
                    table.AddColumn(new TableColumn(column).RightAligned());
                }

                foreach (var row in rows)
                {
                    var cells = new List<string>();
                    if (isSeries)
                    {
                        cells.Add(row.GetProperty("bucket").GetDateTime().ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
                    }

                    if (grouped)
                    {
                        cells.Add(Markup.Escape(Text(row, "group") is { Length: > 0 } g ? g : "(none)"));
                    }

                    cells.Add(Number(row, "requests"));
                    cells.Add((row.GetProperty("error_rate").GetDouble() * 100).ToString("0.0", CultureInfo.InvariantCulture));
                    cells.Add(Number(row, "prompt_tokens"));
                    cells.Add(Number(row, "completion_tokens"));
                    cells.Add(row.GetProperty("cost_usd").GetDouble().ToString("0.####", CultureInfo.InvariantCulture));
                    cells.Add($"{Ms(row, "latency_p50_ms")} / {Ms(row, "latency_p95_ms")} / {Ms(row, "latency_p99_ms")}");
                    cells.Add($"{Ms(row, "ttft_p50_ms")} / {Ms(row, "ttft_p99_ms")}");
                    cells.Add(Ms(row, "tpot_p50_ms"));
                    table.AddRow(cells.ToArray());
                }

                var window = document.GetProperty("window");
                table.Caption($"{window.GetProperty("from").GetDateTime():u} → {window.GetProperty("to").GetDateTime():u}, source: {document.GetProperty("source").GetString()}");
                if (Console.IsOutputRedirected)
                {
                    AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200); // logs and pipes have no width; do not fold the table
                }

                AnsiConsole.Write(table);
            });
        });
        return command;
    }

    private static void PrintFeedback(JsonElement document, bool isSeries, string? groupBy)
    {
        var table = new Table().RoundedBorder();
        var rows = document.GetProperty("rows").EnumerateArray().ToList();
        var grouped = rows.Any(r => r.TryGetProperty("group", out _));
        if (isSeries)
        {
            table.AddColumn("bucket (UTC)");
        }

        if (grouped)
        {
            table.AddColumn(groupBy ?? "group");
        }

        table.AddColumn(new TableColumn("rated").RightAligned()).AddColumn(new TableColumn("mean").RightAligned()).AddColumn(new TableColumn("95 % interval").RightAligned());
        foreach (var row in rows)
        {
            var cells = new List<string>();
            if (isSeries)
            {
                cells.Add(row.GetProperty("bucket").GetDateTime().ToUniversalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
            }

            if (grouped)
            {
                cells.Add(Markup.Escape(Text(row, "group") is { Length: > 0 } g ? g : "(none)"));
            }

            var mean = row.GetProperty("mean").GetDouble();
            cells.Add(Number(row, "n"));
            cells.Add(mean.ToString("0.###", CultureInfo.InvariantCulture));
            cells.Add(row.TryGetProperty("ci95", out var ci) && ci.ValueKind == JsonValueKind.Number
                ? $"[{(mean - ci.GetDouble()).ToString("0.###", CultureInfo.InvariantCulture)}, {(mean + ci.GetDouble()).ToString("0.###", CultureInfo.InvariantCulture)}]"
                : "-");
            table.AddRow(cells.ToArray());
        }

        var window = document.GetProperty("window");
        table.Caption($"feedback metric {document.GetProperty("metric").GetString()}, {window.GetProperty("from").GetDateTime():u} → {window.GetProperty("to").GetDateTime():u}");
        AnsiConsole.Write(table);
    }

    public static Command CreateTopPrompts()
    {
        var shared = new SharedOptions();
        var search = new Option<string?>("--search", "-q") { Description = "Instead: requests whose prompt or response contains this text." };
        var command = new Command("top-prompts",
            "The most frequent prompts (by normalised prompt hash) over a window, with how many users sent them and when last; or, with " +
            "--search, matching requests. Reads the embedded store (or Tao:ClickHouse:Url), or a running gateway with --gateway. " + TaoConfiguration.EnvironmentHelp)
        {
            search,
        };
        shared.AddTo(command);
        command.SetAction(async (result, cancellationToken) =>
        {
            var query = shared.Query(result);
            var text = result.GetValue(search);
            Add(query, "q", text);
            return await RunAsync(result, shared, text is null ? "top-prompts" : "search", query, cancellationToken, document =>
            {
                var table = new Table().RoundedBorder();
                if (text is null)
                {
                    table.AddColumn(new TableColumn("requests").RightAligned()).AddColumn(new TableColumn("users").RightAligned())
                        .AddColumn(new TableColumn("errors").RightAligned()).AddColumn("tasks").AddColumn("last seen (UTC)").AddColumn("prompt");
                    foreach (var row in document.GetProperty("rows").EnumerateArray())
                    {
                        table.AddRow(Number(row, "requests"), Number(row, "users"), Number(row, "errors"),
                            Markup.Escape(string.Join(",", row.GetProperty("tasks").EnumerateArray().Select(t => t.GetString()))),
                            row.GetProperty("last_seen").GetDateTime().ToUniversalTime().ToString("MM-dd HH:mm", CultureInfo.InvariantCulture),
                            Markup.Escape(Shorten(Text(row, "prompt"), 90)));
                    }
                }
                else
                {
                    table.AddColumn("time (UTC)").AddColumn("request id").AddColumn("model").AddColumn("task").AddColumn(new TableColumn("status").RightAligned())
                        .AddColumn("prompt").AddColumn("response");
                    foreach (var row in document.GetProperty("rows").EnumerateArray())
                    {
                        table.AddRow(row.GetProperty("started_at").GetDateTime().ToUniversalTime().ToString("MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                            Text(row, "request_id"), Markup.Escape(Text(row, "model")), Markup.Escape(Text(row, "task")), Number(row, "status"),
                            Markup.Escape(Shorten(Text(row, "prompt"), 50)), Markup.Escape(Shorten(Text(row, "response"), 50)));
                    }
                }

                if (Console.IsOutputRedirected)
                {
                    AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200); // logs and pipes have no width; do not fold the table
                }

                AnsiConsole.Write(table);
            });
        });
        return command;
    }

    private static async Task<int> RunAsync(ParseResult result, SharedOptions shared, string endpoint, List<KeyValuePair<string, string>> query,
        CancellationToken cancellationToken, Action<JsonElement> print)
    {
        JsonDocument document;
        try
        {
            if (result.GetValue(shared.Gateway) is { } gateway)
            {
                document = await FromGatewayAsync(gateway, endpoint, query, null, cancellationToken);
            }
            else
            {
                try
                {
                    document = await FromStoreAsync(result, shared, endpoint, query, cancellationToken);
                }
                catch (Storage.Embedded.ChdbException)
                {
                    // The embedded engine is one process's: while ./tao up or ./tao gateway holds it, ask that gateway.
                    var configuration = TaoConfiguration.Build(result.GetValue(shared.Data), result.GetValue(shared.Config) ?? []);
                    var url = (configuration["Tao:Gateway:Urls"] ?? "http://127.0.0.1:8080").Split(';')[0].Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal);
                    Console.Error.WriteLine($"the embedded store is in use by a running gateway; asking it at {url}");
                    document = await FromGatewayAsync(url, endpoint, query, configuration["Tao:Auth:AdminKey"], cancellationToken);
                }
            }
        }
        catch (AnalyticsQueryException e)
        {
            Console.Error.WriteLine($"{e.Parameter}: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is HttpRequestException or ClickHouse.Driver.ClickHouseServerException or InvalidOperationException)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }

        using (document)
        {
            print(document.RootElement);
        }

        return 0;
    }

    private static async Task<JsonDocument> FromStoreAsync(ParseResult result, SharedOptions shared, string endpoint, List<KeyValuePair<string, string>> query,
        CancellationToken cancellationToken)
    {
        var configuration = TaoConfiguration.Build(result.GetValue(shared.Data), result.GetValue(shared.Config) ?? []);
        var storeOptions = configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new();
        if (storeOptions.IsEmbedded && !Directory.Exists(storeOptions.EmbeddedPath))
        {
            throw new InvalidOperationException($"No embedded store at {storeOptions.EmbeddedPath}; run ./tao up first, or pass --data or --gateway.");
        }

        await using var store = await ClickHouseStore.OpenAsync(storeOptions, cancellationToken);
        await new Storage.Schema.SchemaMigrator(store).MigrateAsync(cancellationToken); // idempotent; brings older stores' rollups up to date
        var analyticsOptions = configuration.GetSection(AnalyticsOptions.Section).Get<AnalyticsOptions>() ?? new();
        var service = new AnalyticsService(store, new StaticOptionsMonitor<AnalyticsOptions>(analyticsOptions));
        var allowed = endpoint switch
        {
            "summary" or "timeseries" => AnalyticsRequest.TrafficParameters,
            "feedback" or "feedback/timeseries" => AnalyticsRequest.FeedbackParameters,
            "search" => AnalyticsRequest.SearchParameters,
            _ => AnalyticsRequest.PromptParameters,
        };
        var request = AnalyticsRequest.Parse(query, TimeProvider.System, allowed);
        object answer = endpoint switch
        {
            "summary" => new
            {
                source = AnalyticsService.SourceFor(request), window = new { from = request.From.UtcDateTime, to = request.To.UtcDateTime },
                rows = await service.SummaryAsync(request, cancellationToken),
            },
            "timeseries" => new
            {
                source = AnalyticsService.SourceFor(request), window = new { from = request.From.UtcDateTime, to = request.To.UtcDateTime },
                rows = await service.TimeSeriesAsync(request, cancellationToken),
            },
            "feedback" or "feedback/timeseries" => new
            {
                metric = request.Metric, window = new { from = request.From.UtcDateTime, to = request.To.UtcDateTime },
                rows = await service.FeedbackAsync(request, timeSeries: endpoint != "feedback", cancellationToken),
            },
            "search" => new { rows = await service.SearchAsync(request, cancellationToken) },
            _ => new { rows = await service.TopPromptsAsync(request, cancellationToken) },
        };
        return JsonSerializer.SerializeToDocument(answer);
    }

    private static async Task<JsonDocument> FromGatewayAsync(string gateway, string endpoint, List<KeyValuePair<string, string>> query, string? adminKey,
        CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(gateway), Timeout = TimeSpan.FromSeconds(60) };
        if ((Environment.GetEnvironmentVariable("TAO_ADMIN_KEY") is { Length: > 0 } fromEnvironment ? fromEnvironment : adminKey) is { Length: > 0 } key)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        var url = $"/admin/analytics/{endpoint}?" + string.Join("&", query.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        using var response = await http.GetAsync(url, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{(int)response.StatusCode}: {text}");
        }

        return JsonDocument.Parse(text);
    }

    private static void Add(List<KeyValuePair<string, string>> query, string key, string? value)
    {
        if (value is not null)
        {
            query.Add(new(key, value));
        }
    }

    private static string Text(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.ToString() : string.Empty;

    private static string Number(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("#,0", CultureInfo.InvariantCulture) : "-";

    private static string Ms(JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("0.#", CultureInfo.InvariantCulture) : "-";

    private static string Shorten(string text, int length)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length <= length ? flat : flat[..(length - 1)] + "…";
    }

    /// <summary>Options both commands take: the window, filters, limit, and where to read.</summary>
    private sealed class SharedOptions
    {
        public Option<string?> Window { get; } = new("--window", "-w") { Description = "15m, 1h, 6h, 24h, 7d, 30d or 90d. Default: 24h." };
        public Option<string?> From { get; } = new("--from") { Description = "Window start, ISO 8601 (UTC unless an offset is given)." };
        public Option<string?> To { get; } = new("--to") { Description = "Window end, ISO 8601. Default: now." };
        public Option<string?> Status { get; } = new("--status") { Description = "ok or error." };
        public Option<int?> Limit { get; } = new("--limit", "-n") { Description = "Rows, 1–1000. Default: 50." };
        public Option<string?> Gateway { get; } = new("--gateway") { Description = "Ask a running gateway (e.g. http://127.0.0.1:8080) instead of the store; sends $TAO_ADMIN_KEY." };
        public Option<string?> Data { get; } = CommonOptions.Data();
        public Option<string[]> Config { get; } = CommonOptions.Config();
        public Dictionary<string, Option<string?>> Filters { get; } = s_filters.ToDictionary(f => f, f => new Option<string?>("--" + f)
        {
            Description = f == "endpoint" ? "Only this API surface: chat, responses, messages, completions or embeddings." : $"Only this {f}.",
        });

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Window, From, To, Status, Limit, Gateway, Data, Config }.Concat(Filters.Values))
            {
                command.Options.Add(option);
            }
        }

        public List<KeyValuePair<string, string>> Query(ParseResult result)
        {
            var query = new List<KeyValuePair<string, string>>();
            Add(query, "window", result.GetValue(Window));
            Add(query, "from", result.GetValue(From));
            Add(query, "to", result.GetValue(To));
            Add(query, "status", result.GetValue(Status));
            Add(query, "limit", result.GetValue(Limit)?.ToString(CultureInfo.InvariantCulture));
            foreach (var (name, option) in Filters)
            {
                Add(query, name, result.GetValue(option));
            }

            return query;
        }
    }

    private sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
