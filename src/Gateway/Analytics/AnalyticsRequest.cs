using System.Globalization;

namespace Tao.Gateway.Analytics;

/// <summary>
/// One analytics question, validated: a time window, filters on known dimensions, an optional grouping and bucket.
/// Every value reaches ClickHouse as a query parameter; only names from the fixed tables below become SQL text.
/// </summary>
public sealed record AnalyticsRequest
{
    /// <summary>
    /// Dimensions a user may filter or group by, and the SQL each one reads (over table alias t, the captures table or
    /// its rollup). "endpoint" is the call's API surface; version 1 records said "chat.completions" for chat, and the
    /// rollup's key keeps what was written, so old and new rows are read as one "chat".
    /// </summary>
    public static IReadOnlyDictionary<string, string> Dimensions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["model"] = "t.model",
        ["alias"] = "t.alias",
        ["version"] = "t.model_version",
        ["task"] = "t.task",
        ["key"] = "t.api_key_id",
        ["user"] = "t.end_user",
        ["endpoint"] = Tao.Capture.ApiSurfaces.NormaliseSql("t.endpoint"),
    };

    /// <summary>Buckets a time series may use, in seconds.</summary>
    public static IReadOnlyDictionary<string, int> Buckets { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["1m"] = 60, ["5m"] = 300, ["15m"] = 900, ["1h"] = 3600, ["6h"] = 21_600, ["1d"] = 86_400,
    };

    private static readonly Dictionary<string, TimeSpan> s_windows = new(StringComparer.Ordinal)
    {
        ["15m"] = TimeSpan.FromMinutes(15), ["1h"] = TimeSpan.FromHours(1), ["6h"] = TimeSpan.FromHours(6),
        ["24h"] = TimeSpan.FromHours(24), ["7d"] = TimeSpan.FromDays(7), ["30d"] = TimeSpan.FromDays(30), ["90d"] = TimeSpan.FromDays(90),
    };

    public required DateTimeOffset From { get; init; }
    public required DateTimeOffset To { get; init; }
    public IReadOnlyDictionary<string, string> Filters { get; init; } = new Dictionary<string, string>();

    /// <summary>"ok" (status &lt; 400) or "error" (status ≥ 400); null for both.</summary>
    public string? Status { get; init; }

    public string? GroupBy { get; init; }
    public int BucketSeconds { get; init; } = 3600;
    public int Limit { get; init; } = 50;
    public string? Search { get; init; }

    /// <summary>The feedback metric a feedback question is about.</summary>
    public string? Metric { get; init; }

    /// <summary>auto (rollup when it can answer), raw (the captures table, exact), rollup.</summary>
    public string Source { get; init; } = "auto";

    /// <summary>
    /// Parses query parameters. window (15m, 1h, 6h, 24h, 7d, 30d, 90d; default 24h) or from/to (ISO 8601, UTC when no
    /// offset); filters model, alias, version, task, key, user, endpoint, status (ok|error); group_by (a dimension);
    /// bucket (1m, 5m, 15m, 1h, 6h, 1d); limit (1–1000); q (search text); source (auto|raw|rollup). Anything else is
    /// an error: a typo must not silently widen a query.
    /// </summary>
    public static AnalyticsRequest Parse(IEnumerable<KeyValuePair<string, string>> query, TimeProvider time, IReadOnlySet<string> allowed)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in query)
        {
            if (!allowed.Contains(key))
            {
                throw new AnalyticsQueryException(key, $"Unknown parameter '{key}'. This endpoint takes: {string.Join(", ", allowed.Order(StringComparer.Ordinal))}.");
            }

            if (values.ContainsKey(key))
            {
                throw new AnalyticsQueryException(key, $"Parameter '{key}' was given more than once.");
            }

            if (value.Length > 256)
            {
                throw new AnalyticsQueryException(key, $"Parameter '{key}' is longer than 256 characters.");
            }

            values[key] = value;
        }

        var now = time.GetUtcNow();
        DateTimeOffset from, to;
        if (values.TryGetValue("window", out var window))
        {
            if (values.ContainsKey("from") || values.ContainsKey("to"))
            {
                throw new AnalyticsQueryException("window", "Give either window or from/to, not both.");
            }

            if (!s_windows.TryGetValue(window, out var span))
            {
                throw new AnalyticsQueryException("window", $"window must be one of {string.Join(", ", s_windows.Keys)}.");
            }

            to = now;
            from = now - span;
        }
        else
        {
            to = values.TryGetValue("to", out var toText) ? Time("to", toText) : now;
            from = values.TryGetValue("from", out var fromText) ? Time("from", fromText) : to - TimeSpan.FromHours(24);
        }

        if (from >= to)
        {
            throw new AnalyticsQueryException("from", "from must be before to.");
        }

        var filters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var dimension in Dimensions.Keys)
        {
            if (values.TryGetValue(dimension, out var value))
            {
                filters[dimension] = value;
            }
        }

        string? status = null;
        if (values.TryGetValue("status", out var statusText))
        {
            status = statusText is "ok" or "error" ? statusText : throw new AnalyticsQueryException("status", "status must be 'ok' or 'error'.");
        }

        string? groupBy = null;
        if (values.TryGetValue("group_by", out var group) && group is not ("" or "none"))
        {
            groupBy = Dimensions.ContainsKey(group) ? group
                : throw new AnalyticsQueryException("group_by", $"group_by must be one of none, {string.Join(", ", Dimensions.Keys)}.");
        }

        var bucket = 3600;
        if (values.TryGetValue("bucket", out var bucketText))
        {
            bucket = Buckets.TryGetValue(bucketText, out var seconds) ? seconds
                : throw new AnalyticsQueryException("bucket", $"bucket must be one of {string.Join(", ", Buckets.Keys)}.");
        }
        else
        {
            // About a hundred points over the window.
            var span = (to - from).TotalSeconds;
            bucket = Buckets.Values.Where(s => span / s <= 200).DefaultIfEmpty(86_400).Min();
        }

        if ((to - from).TotalSeconds / bucket > 10_000)
        {
            throw new AnalyticsQueryException("bucket", "That window and bucket make more than 10000 points; choose a larger bucket.");
        }

        var limit = values.TryGetValue("limit", out var limitText) ? ParseLimit(limitText) : 50;

        var source = values.GetValueOrDefault("source", "auto");
        if (source is not ("auto" or "raw" or "rollup"))
        {
            throw new AnalyticsQueryException("source", "source must be auto, raw or rollup.");
        }

        var search = values.GetValueOrDefault("q");
        if (allowed.Contains("q") && string.IsNullOrWhiteSpace(search))
        {
            throw new AnalyticsQueryException("q", "Give the text to search for as q.");
        }

        var metric = values.GetValueOrDefault("metric");
        if (allowed.Contains("metric") && (metric is null || !System.Text.RegularExpressions.Regex.IsMatch(metric, @"\A[A-Za-z0-9_.\-]{1,128}\z")))
        {
            throw new AnalyticsQueryException("metric", "Give the feedback metric as metric (letters, digits, '_', '.', '-').");
        }

        return new AnalyticsRequest
        {
            From = from, To = to, Filters = filters, Status = status, GroupBy = groupBy, BucketSeconds = bucket, Limit = limit,
            Source = source, Search = search?.Trim(), Metric = metric,
        };
    }

    /// <summary>Parameters the traffic endpoints (summary, time series) take.</summary>
    public static IReadOnlySet<string> TrafficParameters { get; } =
        new HashSet<string>(["window", "from", "to", "status", "group_by", "bucket", "limit", "source", .. Dimensions.Keys], StringComparer.Ordinal);

    /// <summary>Parameters of the endpoints that only need a window (dimensions).</summary>
    public static IReadOnlySet<string> WindowParameters { get; } = new HashSet<string>(["window", "from", "to"], StringComparer.Ordinal);

    /// <summary>Parameters of top prompts: a window, filters and a limit.</summary>
    public static IReadOnlySet<string> PromptParameters { get; } =
        new HashSet<string>(["window", "from", "to", "status", "limit", .. Dimensions.Keys], StringComparer.Ordinal);

    /// <summary>Parameters of the feedback endpoints: a metric, a window, filters, grouping and buckets.</summary>
    public static IReadOnlySet<string> FeedbackParameters { get; } =
        new HashSet<string>(["metric", "window", "from", "to", "status", "group_by", "bucket", "limit", .. Dimensions.Keys], StringComparer.Ordinal);

    /// <summary>Parameters of search: those of top prompts and the text.</summary>
    public static IReadOnlySet<string> SearchParameters { get; } = new HashSet<string>([.. PromptParameters, "q"], StringComparer.Ordinal);

    /// <summary>A row limit: a whole number from 1 to 1000.</summary>
    public static int ParseLimit(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= 1000
            ? limit
            : throw new AnalyticsQueryException("limit", "limit must be a whole number from 1 to 1000.");

    /// <summary>True when the per-minute rollup holds every dimension this question touches.</summary>
    public bool RollupCanAnswer =>
        Status is null && !Filters.ContainsKey("user") && GroupBy is not "user";

    private static DateTimeOffset Time(string parameter, string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed)
            ? parsed
            : throw new AnalyticsQueryException(parameter, $"{parameter} must be an ISO 8601 time such as 2026-11-25T10:00:00Z.");
}
