using System.Text.Json;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Tao.Capture;
using Tao.Storage;
using Tao.Trainer.Tokenization;

namespace Tao.Flywheel;

/// <summary>
/// The flywheel's questions to the captures table: how many distinct new inputs a set of tasks has since a watermark,
/// and which they are. Distinct by normalised prompt hash; only successful conversational calls count — Chat
/// Completions, Responses and Anthropic Messages alike, since the same conversation has the same prompt hash on each.
/// </summary>
public sealed class CaptureReader(ClickHouseStore store)
{
    private string Table => $"{store.Database}.captures";

    public async Task<long> CountNewAsync(IReadOnlyList<string> tasks, DateTime since, CancellationToken cancellationToken)
    {
        var value = await store.Client.ExecuteScalarAsync(
            $"SELECT uniqExact(prompt_hash) FROM {Table} WHERE task IN {{tasks:Array(String)}} AND started_at > {{since:DateTime64(6)}} " +
            $"AND status = 200 AND endpoint IN {Conversational}",
            Parameters(tasks, since), cancellationToken: cancellationToken);
        return Convert.ToInt64(value);
    }

    /// <summary>The newest distinct inputs after <paramref name="since"/> (newest first), or a stable sample of older ones.</summary>
    public async Task<List<CapturedInput>> ReadAsync(IReadOnlyList<string> tasks, DateTime since, bool newer, int limit, CancellationToken cancellationToken)
    {
        var parameters = Parameters(tasks, since);
        parameters.AddParameter("limit", (ulong)Math.Max(0, limit));
        var window = newer ? "started_at > {since:DateTime64(6)}" : "started_at <= {since:DateTime64(6)}";
        var order = newer ? "last_seen DESC" : "cityHash64(prompt_hash)";
        var sql = $$"""
            SELECT argMax(request_id, started_at), prompt_hash, argMax(task, started_at), max(started_at) AS last_seen, argMax(request_json, started_at),
                argMax(endpoint, started_at)
            FROM {{Table}}
            WHERE task IN {tasks:Array(String)} AND {{window}} AND status = 200 AND endpoint IN {{Conversational}}
            GROUP BY prompt_hash
            ORDER BY {{order}}
            LIMIT {limit:UInt64}
            """;
        var inputs = new List<CapturedInput>();
        using var reader = await store.Client.ExecuteReaderAsync(sql, parameters, cancellationToken: cancellationToken);
        while (reader.Read())
        {
            var messages = Messages(reader.GetString(4), reader.GetString(5));
            if (messages.Count > 0)
            {
                inputs.Add(new CapturedInput(reader.GetGuid(0), Convert.ToUInt64(reader.GetValue(1)), reader.GetString(2),
                    DateTime.SpecifyKind(Convert.ToDateTime(reader.GetValue(3)), DateTimeKind.Utc), messages));
            }
        }

        return inputs;
    }

    /// <summary>What users said about the answers to these prompts: the latest demonstration, and answers rated up or down.</summary>
    public sealed record PromptFeedback(string? Demonstration, IReadOnlyList<string> RatedUp, IReadOnlyList<string> RatedDown)
    {
        /// <summary>Every rated answer with its latest value (boolean metrics: 1 up, 0 down).</summary>
        public IReadOnlyList<(string Answer, double Value)> Rated { get; init; } = [];
    }

    /// <summary>
    /// Feedback on any call of the given prompts (by normalised prompt hash): demonstrations, and — for a boolean
    /// metric — the answers rated up (value 1) and down (value 0). Latest feedback per (call, metric, key) counts.
    /// </summary>
    public async Task<Dictionary<ulong, PromptFeedback>> FeedbackAsync(IReadOnlyCollection<ulong> promptHashes, string task, string? metric, bool demonstrations,
        CancellationToken cancellationToken)
    {
        var result = new Dictionary<ulong, PromptFeedback>();
        if (promptHashes.Count == 0 || (metric is null && !demonstrations))
        {
            return result;
        }

        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("hashes", promptHashes.ToArray());
        parameters.AddParameter("metric", metric ?? string.Empty);
        parameters.AddParameter("demonstrations", demonstrations ? 1 : 0);
        parameters.AddParameter("task", task);
        // Only feedback on this task's calls, given by the key that made the call (or the admin): a key scoped to
        // another task cannot steer this task's training by rating a call with the same prompt text.
        var sql = $$"""
            SELECT c.prompt_hash, f.metric, f.value, f.demonstration, c.response_text
            FROM (SELECT target_id, metric, value, demonstration, created_at, api_key_id FROM {{store.Database}}.feedback FINAL
                  WHERE level = 'request' AND ((metric = 'demonstration' AND {demonstrations:UInt8} = 1) OR metric = {metric:String})) AS f
            INNER JOIN {{Table}} AS c ON toString(c.request_id) = f.target_id
            WHERE c.prompt_hash IN {hashes:Array(UInt64)} AND c.task = {task:String} AND (f.api_key_id = c.api_key_id OR f.api_key_id = 'admin')
            ORDER BY f.created_at
            """;
        var rows = new List<(ulong Hash, string Metric, double? Value, string Demonstration, string Answer)>();
        using (var reader = await store.Client.ExecuteReaderAsync(sql, parameters, cancellationToken: cancellationToken))
        {
            while (reader.Read())
            {
                rows.Add((Convert.ToUInt64(reader.GetValue(0)), reader.GetString(1), reader.IsDBNull(2) ? null : Convert.ToDouble(reader.GetValue(2)),
                    reader.GetString(3), reader.GetString(4)));
            }
        }

        foreach (var group in rows.GroupBy(r => r.Hash))
        {
            var demonstration = group.Where(r => r.Metric == "demonstration" && r.Demonstration.Trim().Length > 0).Select(r => r.Demonstration.Trim()).LastOrDefault();
            var rated = group.Where(r => r.Metric == metric && r.Value is not null && r.Answer.Trim().Length > 0).ToList();
            result[group.Key] = new PromptFeedback(demonstration,
                rated.Where(r => r.Value >= 0.5).Select(r => r.Answer.Trim()).Distinct(StringComparer.Ordinal).ToList(),
                rated.Where(r => r.Value < 0.5).Select(r => r.Answer.Trim()).Distinct(StringComparer.Ordinal).ToList())
            {
                Rated = rated.GroupBy(r => r.Answer.Trim(), StringComparer.Ordinal).Select(g => (g.Key, g.Last().Value!.Value)).ToList(),
            };
        }

        return result;
    }

    /// <summary>Calls through an alias in a time window, per serving version: how many, and how many succeeded (status 2xx).</summary>
    public async Task<Dictionary<string, (long Calls, long Succeeded)>> OutcomesAsync(string alias, DateTime from, DateTime to, CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("alias", alias);
        parameters.AddParameter("from", DateTime.SpecifyKind(from, DateTimeKind.Utc));
        parameters.AddParameter("to", DateTime.SpecifyKind(to, DateTimeKind.Utc));
        var outcomes = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        using var reader = await store.Client.ExecuteReaderAsync(
            $"SELECT model_version, count(), countIf(status >= 200 AND status < 300) FROM {Table} FINAL " +
            "WHERE alias = {alias:String} AND started_at >= {from:DateTime64(6)} AND started_at <= {to:DateTime64(6)} GROUP BY model_version",
            parameters, cancellationToken: cancellationToken);
        while (reader.Read())
        {
            outcomes[reader.GetString(0)] = (Convert.ToInt64(reader.GetValue(1)), Convert.ToInt64(reader.GetValue(2)));
        }

        return outcomes;
    }

    /// <summary>Per serving version, calls through an alias in a window that users rated with a boolean metric: how many, how many rated up.</summary>
    public async Task<Dictionary<string, (long Rated, long Up)>> FeedbackOutcomesAsync(string alias, DateTime from, DateTime to, string metric,
        CancellationToken cancellationToken)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("alias", alias);
        parameters.AddParameter("from", DateTime.SpecifyKind(from, DateTimeKind.Utc));
        parameters.AddParameter("to", DateTime.SpecifyKind(to, DateTimeKind.Utc));
        parameters.AddParameter("metric", metric);
        var outcomes = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        using var reader = await store.Client.ExecuteReaderAsync(
            $"SELECT c.model_version, count(), countIf(f.value >= 0.5) FROM (SELECT target_id, value FROM {store.Database}.feedback FINAL " +
            "WHERE metric = {metric:String} AND level = 'request' AND value IS NOT NULL) AS f " +
            $"INNER JOIN {Table} AS c ON toString(c.request_id) = f.target_id " +
            "WHERE c.alias = {alias:String} AND c.started_at >= {from:DateTime64(6)} AND c.started_at <= {to:DateTime64(6)} GROUP BY c.model_version",
            parameters, cancellationToken: cancellationToken);
        while (reader.Read())
        {
            outcomes[reader.GetString(0)] = (Convert.ToInt64(reader.GetValue(1)), Convert.ToInt64(reader.GetValue(2)));
        }

        return outcomes;
    }

    private static ClickHouseParameterCollection Parameters(IReadOnlyList<string> tasks, DateTime since)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("tasks", tasks.ToArray());
        parameters.AddParameter("since", DateTime.SpecifyKind(since, DateTimeKind.Utc));
        return parameters;
    }

    /// <summary>The surfaces whose calls are inputs, as a SQL list (constants, not user input).</summary>
    private static string Conversational => $"({string.Join(", ", ApiSurfaces.Conversational.Select(s => $"'{s}'"))})";

    /// <summary>
    /// The conversation of a captured request as chat messages, whichever surface it came through (a Responses call's
    /// instructions and input, an Anthropic call's system prompt and messages), text parts only; empty assistant turns
    /// (tool calls) are left out.
    /// </summary>
    internal static List<ChatMessage> Messages(string requestJson, string endpoint)
    {
        try
        {
            using var document = JsonDocument.Parse(requestJson);
            return PromptText.Conversation(document.RootElement, endpoint)
                .Select(turn => new ChatMessage(turn.Role, turn.Content))
                .Where(m => m.Role != "assistant" || m.Content.Length > 0)
                .ToList();
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
