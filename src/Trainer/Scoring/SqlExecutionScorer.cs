using System.Globalization;
using System.Text;
using ClickHouse.Driver;
using Tao.Storage;

namespace Tao.Trainer.Scoring;

/// <summary>
/// Execution verification for SQL: every candidate runs against a real engine (ClickHouse: the embedded one or a
/// server, read-only and time-limited) in the group's database. A candidate scores for running at all and for how
/// many others returned the same result set: agreement of results, not of text.
/// </summary>
public sealed class SqlExecutionScorer(ClickHouseStore store, double runWeight = 0.3, double agreementWeight = 0.7) : IScorer
{
    public const string DatabaseKey = "database";

    public string Name => "sql_execution";

    public async Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var database = group.ContextValue(DatabaseKey) ?? throw new ArgumentException("SQL scoring needs the group's database in its context");
        var results = await Task.WhenAll(group.Candidates.Select(c => RunAsync(database, c, cancellationToken))).ConfigureAwait(false);
        // Wrong filters tend to find nothing, and "nothing" agrees with itself: empty results earn no agreement.
        var counts = results.Where(r => r is not null && !IsEmpty(r)).GroupBy(r => r!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var total = runWeight + agreementWeight;
        return results.Select(r => r is null ? 0.0
            : IsEmpty(r) ? runWeight / 2 / total
            : (runWeight + agreementWeight * counts[r] / results.Length) / total).ToArray();
    }

    /// <summary>No rows, or only zeros and NULLs (a count or sum over nothing).</summary>
    public static bool IsEmpty(string result) =>
        result.Length == 0 || result.Split('\n', '\t').All(v => v is "0" or "\\N" or "" or "nan");

    // Candidates repeat a lot (the same query sampled many times, in every iteration): results are kept per statement.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Database, string Statement), string?> _results = new();

    /// <summary>The query's rows as sorted tab-separated text (row order ignored), or null when it does not run.</summary>
    public async Task<string?> RunAsync(string database, string sql, CancellationToken cancellationToken)
    {
        var statement = sql.Trim().TrimEnd(';').Trim();
        if (statement.Length == 0 || statement.Contains(';'))
        {
            return null; // nothing, or more than one statement
        }

        if (_results.TryGetValue((database, statement), out var known))
        {
            return known;
        }

        var result = await ExecuteAsync(database, statement, cancellationToken).ConfigureAwait(false);
        if (_results.Count > 100_000)
        {
            _results.Clear();
        }

        _results[(database, statement)] = result;
        return result;
    }

    private async Task<string?> ExecuteAsync(string database, string statement, CancellationToken cancellationToken)
    {

        var options = new QueryOptions
        {
            Database = database,
            CustomSettings = new Dictionary<string, object>
            {
                ["readonly"] = 1,
                ["max_execution_time"] = 5,
                ["max_result_rows"] = 10_000,
                ["result_overflow_mode"] = "throw",
                ["max_memory_usage"] = 256L * 1024 * 1024,
            },
        };
        try
        {
            using var reader = await store.Client.ExecuteReaderAsync(statement, options: options, cancellationToken: cancellationToken).ConfigureAwait(false);
            var rows = new List<string>();
            while (reader.Read())
            {
                var row = new StringBuilder();
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    if (i > 0)
                    {
                        row.Append('\t');
                    }

                    row.Append(Format(reader.IsDBNull(i) ? null : reader.GetValue(i)));
                }

                rows.Add(row.ToString());
            }

            rows.Sort(StringComparer.Ordinal);
            return string.Join('\n', rows);
        }
        catch (ClickHouseServerException)
        {
            return null;
        }
    }

    private static string Format(object? value) => value switch
    {
        null => "\\N",
        double d => Math.Round(d, 6).ToString(CultureInfo.InvariantCulture),
        float f => Math.Round(f, 6).ToString(CultureInfo.InvariantCulture),
        decimal m => Math.Round(m, 6).ToString(CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
