using ClickHouse.Driver;
using Tao.Gateway.OpenAi;

namespace Tao.Gateway.Analytics;

/// <summary>
/// /admin/analytics: traffic summary and time series, top prompts, search, one request, flywheel rounds, their
/// inputs and model versions. Admin key (or the dashboard's session) required; every filter is validated and a bad
/// one is a 400 naming it.
/// </summary>
internal static class AnalyticsEndpoints
{
    public static void MapAnalytics(this IEndpointRouteBuilder app)
    {
        var analytics = app.MapGroup("/admin/analytics");

        analytics.MapGet("/summary", (HttpContext context, AnalyticsService service, TimeProvider time) =>
            RunAsync(context, AnalyticsRequest.TrafficParameters, time, async (request, ct) =>
                new TrafficAnswer(AnalyticsService.SourceFor(request), Window(request), null, await service.SummaryAsync(request, ct))));

        analytics.MapGet("/timeseries", (HttpContext context, AnalyticsService service, TimeProvider time) =>
            RunAsync(context, AnalyticsRequest.TrafficParameters, time, async (request, ct) =>
                new TrafficAnswer(AnalyticsService.SourceFor(request), Window(request), request.BucketSeconds, await service.TimeSeriesAsync(request, ct))));

        analytics.MapGet("/feedback/metrics", (Microsoft.Extensions.Options.IOptionsMonitor<Feedback.FeedbackOptions> feedback) =>
            OpenAiResults.Json(new RowList<MetricView>([.. feedback.CurrentValue.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => new MetricView(
                m.Key, m.Value.Type.ToString().ToLowerInvariant(), m.Value.Level.ToString().ToLowerInvariant(), m.Value.HigherIsBetter))])));

        analytics.MapGet("/feedback", (HttpContext context, AnalyticsService service, TimeProvider time) =>
            RunAsync(context, AnalyticsRequest.FeedbackParameters, time, async (request, ct) =>
                new FeedbackAnswer(request.Metric, Window(request), null, await service.FeedbackAsync(request, timeSeries: false, ct))));

        analytics.MapGet("/feedback/timeseries", (HttpContext context, AnalyticsService service, TimeProvider time) =>
            RunAsync(context, AnalyticsRequest.FeedbackParameters, time, async (request, ct) =>
                new FeedbackAnswer(request.Metric, Window(request), request.BucketSeconds, await service.FeedbackAsync(request, timeSeries: true, ct))));

        analytics.MapGet("/dimensions", (HttpContext context, AnalyticsService service, TimeProvider time) =>
            RunAsync(context, AnalyticsRequest.WindowParameters, time, async (request, ct) => await service.DimensionsAsync(request, ct)));

        analytics.MapGet("/top-prompts", (HttpContext context, AnalyticsService service, TimeProvider time) =>
            RunAsync(context, AnalyticsRequest.PromptParameters, time, async (request, ct) => new WindowAnswer(Window(request), await service.TopPromptsAsync(request, ct))));

        analytics.MapGet("/search", (HttpContext context, AnalyticsService service, TimeProvider time) =>
            RunAsync(context, AnalyticsRequest.SearchParameters, time, async (request, ct) => new WindowAnswer(Window(request), await service.SearchAsync(request, ct))));

        analytics.MapGet("/requests/{id}", async (string id, AnalyticsService service, CancellationToken ct) =>
        {
            if (!Guid.TryParse(id, out var requestId))
            {
                return OpenAiResults.BadRequest($"A request id is a UUID, as returned in the {Tao.Capture.TaoHeaders.RequestId} header.", "id");
            }

            return await Guarded(async () => await service.RequestAsync(requestId, ct) is { } row
                ? OpenAiResults.Json(row)
                : OpenAiResults.NotFound($"No captured request {requestId}."));
        });

        analytics.MapGet("/rounds", async (HttpContext context, AnalyticsService service, CancellationToken ct) =>
        {
            if (Check(context, s_rounds, out var limit) is { } error)
            {
                return error;
            }

            var query = context.Request.Query;
            return await Guarded(async () => OpenAiResults.Json(new RowList<AnalyticsRow>(await service.RoundsAsync(Nullable(query["group"]), Nullable(query["task"]), limit, ct))));
        });

        analytics.MapGet("/rounds/{round}/inputs", async (string round, HttpContext context, AnalyticsService service, CancellationToken ct) =>
        {
            if (Check(context, s_limitOnly, out var limit) is { } error)
            {
                return error;
            }

            return await Guarded(async () => OpenAiResults.Json(new RoundInputs(round, await service.RoundInputsAsync(round, limit, ct))));
        });

        analytics.MapGet("/versions", async (HttpContext context, AnalyticsService service, CancellationToken ct) =>
        {
            if (Check(context, s_versions, out _) is { } error)
            {
                return error;
            }

            return await Guarded(async () => OpenAiResults.Json(new RowList<AnalyticsRow>(await service.VersionsAsync(Nullable(context.Request.Query["group"]), ct))));
        });
    }

    private static readonly IReadOnlySet<string> s_rounds = new HashSet<string>(["group", "task", "limit"], StringComparer.Ordinal);
    private static readonly IReadOnlySet<string> s_limitOnly = new HashSet<string>(["limit"], StringComparer.Ordinal);
    private static readonly IReadOnlySet<string> s_versions = new HashSet<string>(["group"], StringComparer.Ordinal);

    private static async Task<IResult> RunAsync<T>(HttpContext context, IReadOnlySet<string> allowed, TimeProvider time,
        Func<AnalyticsRequest, CancellationToken, Task<T>> run)
    {
        AnalyticsRequest request;
        try
        {
            request = AnalyticsRequest.Parse(Pairs(context), time, allowed);
            _ = AnalyticsService.SourceFor(request);
        }
        catch (AnalyticsQueryException e)
        {
            return OpenAiResults.BadRequest(e.Message, e.Parameter);
        }

        return await Guarded(async () => OpenAiResults.Json(await run(request, context.RequestAborted)));
    }

    /// <summary>Validates endpoints that take only a few plain parameters.</summary>
    private static IResult? Check(HttpContext context, IReadOnlySet<string> allowed, out int limit)
    {
        limit = 100;
        foreach (var (key, value) in Pairs(context))
        {
            if (!allowed.Contains(key))
            {
                return OpenAiResults.BadRequest($"Unknown parameter '{key}'. This endpoint takes: {string.Join(", ", allowed.Order(StringComparer.Ordinal))}.", key);
            }

            if (value.Length > 256)
            {
                return OpenAiResults.BadRequest($"Parameter '{key}' is longer than 256 characters.", key);
            }

            if (key == "limit")
            {
                try
                {
                    limit = AnalyticsRequest.ParseLimit(value);
                }
                catch (AnalyticsQueryException e)
                {
                    return OpenAiResults.BadRequest(e.Message, e.Parameter);
                }
            }
        }

        return null;
    }

    /// <summary>Store errors become 503 (unavailable) or 504 (over the time limit) with the OpenAI error shape, never 500.</summary>
    private static async Task<IResult> Guarded(Func<Task<IResult>> run)
    {
        try
        {
            return await run();
        }
        catch (ClickHouseServerException e) when (e.ErrorCode is 159 or 160 or 241)
        {
            return OpenAiResults.Error(504, "The query exceeded the analytics time or memory limit; narrow the window or filters.", OpenAiError.Server, "query_limit");
        }
        catch (Exception e) when (e is ClickHouseServerException or HttpRequestException or IOException)
        {
            return OpenAiResults.Error(503, "The analytics store is unavailable; captures continue to be spooled.", OpenAiError.Server, "store_unavailable");
        }
    }

    private static IEnumerable<KeyValuePair<string, string>> Pairs(HttpContext context) =>
        context.Request.Query.SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? string.Empty)));

    private static string? Nullable(Microsoft.Extensions.Primitives.StringValues value) => string.IsNullOrEmpty(value) ? null : value.ToString();

    private static TimeWindow Window(AnalyticsRequest request) => new(request.From.UtcDateTime, request.To.UtcDateTime);

    // What the analytics API answers, named so the gateway's JSON is generated at build time (GatewayJson).
    internal sealed record TimeWindow(DateTime From, DateTime To);

    internal sealed record TrafficAnswer(string Source, TimeWindow Window,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] int? BucketSeconds,
        IReadOnlyList<AnalyticsRow> Rows);

    internal sealed record FeedbackAnswer(string? Metric, TimeWindow Window,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] int? BucketSeconds,
        IReadOnlyList<AnalyticsRow> Rows);

    internal sealed record WindowAnswer(TimeWindow Window, IReadOnlyList<AnalyticsRow> Rows);

    internal sealed record RoundInputs(string Round, IReadOnlyList<AnalyticsRow> Rows);

    internal sealed record RowList<T>(IReadOnlyList<T> Rows);

    internal sealed record MetricView(string Name, string Type, string Level, bool HigherIsBetter);
}
