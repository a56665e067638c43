using System.Globalization;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Microsoft.Extensions.Options;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Gateway.Analytics;

/// <summary>
/// The analytics queries, shared by the admin API, the dashboard and the CLI, identical on the embedded engine and a
/// ClickHouse server. User input only ever travels as query parameters; every query runs read-only with the store's
/// time and memory limits. Traffic questions read the per-minute rollup when it holds what they ask about (and the
/// raw captures table otherwise, or when asked for exact figures with source=raw).
/// </summary>
public sealed class AnalyticsService(ClickHouseStore store, IOptionsMonitor<AnalyticsOptions> options)
{
    private const int PreviewChars = 400;

    /// <summary>Totals per group: requests, errors, tokens, cost, latency / TTFT / time-per-output-token percentiles.</summary>
    public Task<IReadOnlyList<AnalyticsRow>> SummaryAsync(AnalyticsRequest request, CancellationToken cancellationToken) =>
        TrafficAsync(request, timeSeries: false, cancellationToken);

    /// <summary>The same figures per time bucket (and per group when grouped).</summary>
    public Task<IReadOnlyList<AnalyticsRow>> TimeSeriesAsync(AnalyticsRequest request, CancellationToken cancellationToken) =>
        TrafficAsync(request, timeSeries: true, cancellationToken);

    /// <summary>Which source a traffic question reads: "rollup" or "raw".</summary>
    public static string SourceFor(AnalyticsRequest request) =>
        request.Source switch
        {
            "raw" => "raw",
            "rollup" when !request.RollupCanAnswer => throw new AnalyticsQueryException("source",
                "The rollup has no per-user or per-status breakdown; use source=raw or auto."),
            _ => request.RollupCanAnswer ? "rollup" : "raw",
        };

    private async Task<IReadOnlyList<AnalyticsRow>> TrafficAsync(AnalyticsRequest request, bool timeSeries, CancellationToken cancellationToken)
    {
        var rollup = SourceFor(request) == "rollup";
        var parameters = new ClickHouseParameterCollection();
        var where = Where(request, parameters, rollup ? "minute" : "started_at", rollup);
        var prices = Prices(parameters);
        var group = request.GroupBy is { } g ? AnalyticsRequest.Dimensions[g] : "''";
        var timeColumn = rollup ? "t.minute" : "t.started_at";
        parameters.AddParameter("bucket", (uint)request.BucketSeconds);
        var bucket = timeSeries ? $"toStartOfInterval({timeColumn}, toIntervalSecond({{bucket:UInt32}})) AS bucket, " : string.Empty;
        var measures = rollup
            ? "sum(t.requests) AS requests, sum(t.errors) AS errors, sum(t.prompt_tokens) AS prompt_tokens, sum(t.completion_tokens) AS completion_tokens, " +
              $"sum(t.prompt_tokens * {prices.Prompt} + t.completion_tokens * {prices.Completion}) / 1e6 AS cost_usd, " +
              $"quantilesTDigestMerge({TrafficRollup.Quantiles})(t.latency) AS latency_ms, quantilesTDigestMerge({TrafficRollup.Quantiles})(t.ttft) AS ttft_ms, " +
              $"quantilesTDigestMerge({TrafficRollup.Quantiles})(t.tpot) AS tpot_ms"
            : "count() AS requests, countIf(t.status >= 400) AS errors, sum(t.prompt_tokens) AS prompt_tokens, sum(t.completion_tokens) AS completion_tokens, " +
              $"sum(t.prompt_tokens * {prices.Prompt} + t.completion_tokens * {prices.Completion}) / 1e6 AS cost_usd, " +
              $"quantilesTDigest({TrafficRollup.Quantiles})(t.latency_ms) AS latency_ms, quantilesTDigest({TrafficRollup.Quantiles})(t.ttft_ms) AS ttft_ms, " +
              $"quantilesTDigest({TrafficRollup.Quantiles})({TrafficRollup.TimePerOutputToken("t.")}) AS tpot_ms";
        var table = rollup ? TrafficRollup.Name : CapturesTable.Name;
        parameters.AddParameter("limit", (uint)(timeSeries ? 10_000 : request.Limit));
        var sql = $"SELECT {bucket}{group} AS grp, {measures}\nFROM {store.Database}.{table} AS t\nWHERE {where}\n" +
                  (timeSeries ? "GROUP BY bucket, grp ORDER BY bucket, grp" : "GROUP BY grp ORDER BY requests DESC, grp") +
                  "\nLIMIT {limit:UInt32}";
        var rows = await QueryAsync(sql, parameters, cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
        {
            var requests = Convert.ToDouble(row["requests"], CultureInfo.InvariantCulture);
            row["error_rate"] = requests > 0 ? Convert.ToDouble(row["errors"], CultureInfo.InvariantCulture) / requests : 0;
            row["cost_usd"] = Math.Round(Convert.ToDouble(row["cost_usd"], CultureInfo.InvariantCulture), 6);
            foreach (var measure in new[] { "latency_ms", "ttft_ms", "tpot_ms" })
            {
                // t-digest quantiles come back as Array(Float32).
                var quantiles = row[measure] is System.Collections.IEnumerable values
                    ? values.Cast<object>().Select(v => Convert.ToDouble(v, CultureInfo.InvariantCulture)).ToArray()
                    : [];
                row.Remove(measure);
                var name = measure[..^3];
                row[$"{name}_p50_ms"] = Round(quantiles.ElementAtOrDefault(0));
                row[$"{name}_p95_ms"] = Round(quantiles.ElementAtOrDefault(1));
                row[$"{name}_p99_ms"] = Round(quantiles.ElementAtOrDefault(2));
            }

            if (row.Remove("grp", out var value) && request.GroupBy is not null)
            {
                row["group"] = value;
            }
        }

        return rows;
    }

    /// <summary>
    /// A feedback metric per group (and per time bucket): how many rated calls or episodes, the mean value (the rate
    /// for booleans) and its 95 % interval half-width, joined to the calls they rate so every traffic filter applies.
    /// The latest feedback per (target, metric, key) counts. Episode feedback takes the dimensions of the episode's
    /// last call.
    /// </summary>
    public Task<IReadOnlyList<AnalyticsRow>> FeedbackAsync(AnalyticsRequest request, bool timeSeries, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        var where = Where(request, parameters, "started_at", rollup: false);
        parameters.AddParameter("metric", request.Metric ?? string.Empty);
        parameters.AddParameter("bucket", (uint)request.BucketSeconds);
        parameters.AddParameter("limit", (uint)(timeSeries ? 10_000 : request.Limit));
        var group = request.GroupBy is { } g ? AnalyticsRequest.Dimensions[g] : "''";
        var bucket = timeSeries ? "toStartOfInterval(t.started_at, toIntervalSecond({bucket:UInt32})) AS bucket, " : string.Empty;
        // The captures columns the dimensions read (their expressions over alias t are applied on the joined rows).
        string[] names = ["model", "alias", "model_version", "task", "api_key_id", "end_user", "endpoint"];
        // An episode is a key's: episode ids are chosen by clients, so another key's calls with the same id are another episode.
        var perEpisode = names.Where(c => c != "api_key_id").ToArray();
        var episodes = $"SELECT episode_id, e_started_at AS started_at, e_status AS status, api_key_id, {string.Join(", ", perEpisode.Select(c => $"e_{c} AS {c}"))} FROM (" +
            $"SELECT episode_id, api_key_id, max(started_at) AS e_started_at, toUInt16(max(status)) AS e_status, {string.Join(", ", perEpisode.Select(c => $"argMax({c}, started_at) AS e_{c}"))} " +
            $"FROM {store.Database}.{CapturesTable.Name} WHERE episode_id != '' GROUP BY episode_id, api_key_id)";
        var columns = "t.started_at AS started_at, t.status AS status, " + string.Join(", ", names.Select(c => $"t.{c} AS {c}"));
        var feedback = $"SELECT target_id, level, value, api_key_id AS rater FROM {store.Database}.{FeedbackTable.Name} FINAL WHERE metric = {{metric:String}} AND value IS NOT NULL";
        var sql = $$"""
            SELECT {{bucket}}{{group}} AS grp, count() AS n, avg(t.value) AS mean, if(count() > 1, 1.96 * stddevSamp(t.value) / sqrt(count()), nan) AS ci95
            FROM (
                SELECT f.value AS value, {{columns}} FROM ({{feedback}}) AS f
                INNER JOIN {{store.Database}}.{{CapturesTable.Name}} AS t ON t.request_id = toUUIDOrZero(f.target_id)
                WHERE f.level = 'request' AND (f.rater = t.api_key_id OR f.rater = 'admin')
                UNION ALL
                SELECT f.value AS value, {{columns}} FROM ({{feedback}}) AS f
                INNER JOIN ({{episodes}}) AS t ON t.episode_id = f.target_id
                WHERE f.level = 'episode' AND (f.rater = t.api_key_id OR f.rater = 'admin')
            ) AS t
            WHERE {{where}}
            {{(timeSeries ? "GROUP BY bucket, grp ORDER BY bucket, grp" : "GROUP BY grp ORDER BY n DESC, grp")}}
            LIMIT {limit:UInt32}
            """;
        return GroupedAsync(request, sql, parameters, cancellationToken);
    }

    private async Task<IReadOnlyList<AnalyticsRow>> GroupedAsync(AnalyticsRequest request, string sql, ClickHouseParameterCollection parameters,
        CancellationToken cancellationToken)
    {
        var rows = await QueryAsync(sql, parameters, cancellationToken).ConfigureAwait(false);
        foreach (var row in rows)
        {
            if (row.Remove("grp", out var value) && request.GroupBy is not null)
            {
                row["group"] = value;
            }
        }

        return rows;
    }

    /// <summary>Most frequent prompts by normalised hash, with an example, when last seen, and which tasks sent them.</summary>
    public Task<IReadOnlyList<AnalyticsRow>> TopPromptsAsync(AnalyticsRequest request, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        var where = Where(request, parameters, "started_at", rollup: false);
        parameters.AddParameter("limit", (uint)request.Limit);
        parameters.AddParameter("chars", (uint)PreviewChars);
        return QueryAsync(
            $"SELECT toString(t.prompt_hash) AS prompt_hash, count() AS requests, uniqExact(t.end_user) AS users, " +
            "substringUTF8(argMax(t.prompt, t.started_at), 1, {chars:UInt32}) AS prompt, max(t.started_at) AS last_seen, " +
            "groupUniqArray(5)(t.task) AS tasks, groupUniqArray(5)(t.model) AS models, countIf(t.status >= 400) AS errors\n" +
            $"FROM {store.Database}.{CapturesTable.Name} AS t\nWHERE {where} AND t.prompt_hash != 0\n" +
            "GROUP BY t.prompt_hash ORDER BY requests DESC, prompt_hash LIMIT {limit:UInt32}",
            parameters, cancellationToken);
    }

    /// <summary>Requests whose prompt or response contains the text (case-insensitive), newest first.</summary>
    public Task<IReadOnlyList<AnalyticsRow>> SearchAsync(AnalyticsRequest request, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        var where = Where(request, parameters, "started_at", rollup: false);
        parameters.AddParameter("q", request.Search ?? string.Empty);
        parameters.AddParameter("limit", (uint)request.Limit);
        parameters.AddParameter("chars", (uint)PreviewChars);
        return QueryAsync(
            "SELECT t.request_id AS request_id, t.started_at AS started_at, t.model AS model, t.alias AS alias, t.model_version AS version, " +
            $"{AnalyticsRequest.Dimensions["endpoint"]} AS endpoint, " +
            "t.task AS task, t.api_key_id AS key, t.end_user AS user, t.status AS status, t.latency_ms AS latency_ms, " +
            "substringUTF8(t.prompt, 1, {chars:UInt32}) AS prompt, substringUTF8(t.response_text, 1, {chars:UInt32}) AS response\n" +
            $"FROM {store.Database}.{CapturesTable.Name} AS t\n" +
            $"WHERE {where} AND (positionCaseInsensitiveUTF8(t.prompt, {{q:String}}) > 0 OR positionCaseInsensitiveUTF8(t.response_text, {{q:String}}) > 0)\n" +
            "ORDER BY t.started_at DESC LIMIT {limit:UInt32}",
            parameters, cancellationToken);
    }

    /// <summary>One request's full record, or null.</summary>
    public async Task<AnalyticsRow?> RequestAsync(Guid requestId, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("id", requestId);
        var rows = await QueryAsync($"SELECT * FROM {store.Database}.{CapturesTable.Name} FINAL WHERE request_id = {{id:UUID}} LIMIT 1",
            parameters, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Flywheel rounds, newest first, optionally for one model group or task.</summary>
    public Task<IReadOnlyList<AnalyticsRow>> RoundsAsync(string? group, string? task, int limit, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        var where = new List<string> { "1" };
        if (group is not null)
        {
            parameters.AddParameter("group", group);
            where.Add("model_group = {group:String}");
        }

        if (task is not null)
        {
            parameters.AddParameter("task", task);
            where.Add("has(tasks, {task:String})");
        }

        parameters.AddParameter("limit", (uint)limit);
        return QueryAsync(
            $"SELECT * FROM {store.Database}.{FlywheelTables.Rounds} FINAL WHERE {string.Join(" AND ", where)} ORDER BY started_at DESC LIMIT {{limit:UInt32}}",
            parameters, cancellationToken);
    }

    /// <summary>The inputs a round used (tuning and held-out), with their prompts when the bodies are still retained.</summary>
    public Task<IReadOnlyList<AnalyticsRow>> RoundInputsAsync(string roundId, int limit, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("round", roundId);
        parameters.AddParameter("limit", (uint)limit);
        parameters.AddParameter("chars", (uint)PreviewChars);
        return QueryAsync(
            "SELECT i.request_id AS request_id, i.task AS task, i.role AS role, toString(i.prompt_hash) AS prompt_hash, c.started_at AS started_at, " +
            "c.model_version AS version, substringUTF8(c.prompt, 1, {chars:UInt32}) AS prompt\n" +
            $"FROM (SELECT * FROM {store.Database}.{FlywheelTables.RoundInputs} FINAL WHERE round_id = {{round:String}}) AS i\n" +
            $"LEFT JOIN (SELECT request_id, any(started_at) AS started_at, any(model_version) AS model_version, any(prompt) AS prompt FROM {store.Database}.{CapturesTable.Name} " +
            $"WHERE request_id IN (SELECT request_id FROM {store.Database}.{FlywheelTables.RoundInputs} WHERE round_id = {{round:String}}) GROUP BY request_id) AS c " +
            "ON c.request_id = i.request_id\nORDER BY i.role, i.task, i.request_id LIMIT {limit:UInt32}",
            parameters, cancellationToken);
    }

    /// <summary>Model versions over time with lineage, status and evaluation.</summary>
    public Task<IReadOnlyList<AnalyticsRow>> VersionsAsync(string? group, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        var where = "1";
        if (group is not null)
        {
            parameters.AddParameter("group", group);
            where = "model_group = {group:String}";
        }

        return QueryAsync($"SELECT * FROM {store.Database}.{FlywheelTables.Versions} FINAL WHERE {where} ORDER BY created_at", parameters, cancellationToken);
    }

    /// <summary>Values seen for each dimension in the window (for filter pickers).</summary>
    public async Task<AnalyticsRow> DimensionsAsync(AnalyticsRequest request, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        var where = Where(request with { Filters = new Dictionary<string, string>() }, parameters, "minute", rollup: true);
        var columns = AnalyticsRequest.Dimensions.Where(d => d.Key != "user")
            .Select(d => $"arraySort(groupUniqArray(200)({d.Value})) AS {d.Key}");
        var rows = await QueryAsync($"SELECT {string.Join(", ", columns)} FROM {store.Database}.{TrafficRollup.Name} AS t WHERE {where}",
            parameters, cancellationToken).ConfigureAwait(false);
        return rows.Count > 0 ? rows[0] : [];
    }

    private static string Where(AnalyticsRequest request, ClickHouseParameterCollection parameters, string timeColumn, bool rollup)
    {
        parameters.AddParameter("from", request.From.UtcDateTime);
        parameters.AddParameter("to", request.To.UtcDateTime);
        var clauses = new List<string>
        {
            rollup
                ? $"t.{timeColumn} >= toStartOfMinute(toDateTime({{from:DateTime64(6)}}, 'UTC')) AND t.{timeColumn} < toDateTime({{to:DateTime64(6)}}, 'UTC')"
                : $"t.{timeColumn} >= {{from:DateTime64(6)}} AND t.{timeColumn} < {{to:DateTime64(6)}}",
        };
        foreach (var (dimension, value) in request.Filters)
        {
            parameters.AddParameter($"f_{dimension}", value);
            clauses.Add($"{AnalyticsRequest.Dimensions[dimension]} = {{f_{dimension}:String}}");
        }

        if (request.Status is { } status)
        {
            clauses.Add(status == "error" ? "t.status >= 400" : "t.status < 400");
        }

        return string.Join(" AND ", clauses);
    }

    /// <summary>Price lookups as SQL over array parameters: the model's price, else its alias's, else "*", else 0.</summary>
    private (string Prompt, string Completion) Prices(ClickHouseParameterCollection parameters)
    {
        var prices = options.CurrentValue.Prices;
        var names = prices.Keys.Where(k => k != "*").ToArray();
        parameters.AddParameter("price_names", names);
        parameters.AddParameter("price_prompt", names.Select(n => prices[n].Prompt).ToArray());
        parameters.AddParameter("price_completion", names.Select(n => prices[n].Completion).ToArray());
        var fallback = prices.TryGetValue("*", out var any) ? any : new ModelPrice();
        parameters.AddParameter("price_prompt_default", fallback.Prompt);
        parameters.AddParameter("price_completion_default", fallback.Completion);
        static string Lookup(string kind) =>
            $"transform(t.model, {{price_names:Array(String)}}, {{price_{kind}:Array(Float64)}}, " +
            $"transform(t.alias, {{price_names:Array(String)}}, {{price_{kind}:Array(Float64)}}, {{price_{kind}_default:Float64}}))";
        return (Lookup("prompt"), Lookup("completion"));
    }

    private async Task<IReadOnlyList<AnalyticsRow>> QueryAsync(string sql, ClickHouseParameterCollection parameters, CancellationToken cancellationToken)
    {
        var rows = new List<AnalyticsRow>();
        using var reader = await store.Client.ExecuteReaderAsync(sql, parameters, store.ReadOnlyQuery(), cancellationToken).ConfigureAwait(false);
        while (reader.Read())
        {
            var row = new AnalyticsRow();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = Json(reader.IsDBNull(i) ? null : reader.GetValue(i));
            }

            rows.Add(row);
        }

        return rows;
    }

    private static object? Json(object? value) => value switch
    {
        DateTime time => DateTime.SpecifyKind(time, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        DateTimeOffset time => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        Guid id => id.ToString(),
        double d => Finite(d),
        float f => Finite(f),
        double[] values => values,
        System.Numerics.BigInteger big => big.ToString(CultureInfo.InvariantCulture),
        _ => value,
    };

    private static double? Round(double value) => double.IsFinite(value) ? Math.Round(value, 3) : null;

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
