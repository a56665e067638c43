using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Tao.Storage;

namespace Tao.Trainer.Scoring;

/// <summary>
/// The other half of value linking for text-to-SQL: every value the question mentions — a number, or a value stored in
/// one of the database's text columns (a city, a status, a customer's name) — must appear as a literal in the query.
/// A query for "refunded orders from month 7" that filters on the month alone runs, agrees with its neighbours and
/// grounds every literal it has; it still drops what was asked. The text values are read from the database once.
/// </summary>
internal sealed partial class SqlValueCoverageScorer(ClickHouseStore store, int maxValuesPerColumn = 2000) : IVerifier
{
    private readonly ConcurrentDictionary<string, Task<HashSet<string>>> _values = new(StringComparer.Ordinal);

    // The same questions are scored again and again (every iteration, every dev record): the values each one mentions
    // are found once, not with a regex per stored value per group.
    private readonly ConcurrentDictionary<(string Database, string Question), HashSet<string>> _mentioned = new();

    public string Name => "sql_value_coverage";

    public async Task<double[]> ScoreAsync(ScoringGroup group, CancellationToken cancellationToken)
    {
        var database = group.ContextValue(SqlExecutionScorer.DatabaseKey) ?? throw new ArgumentException("SQL scoring needs the group's database in its context");
        var values = await _values.GetOrAdd(database, d => LoadAsync(d, CancellationToken.None)).ConfigureAwait(false);
        var question = PromptQuestion.Of(group.Prompt).ToLowerInvariant();
        if (_mentioned.Count > 100_000)
        {
            _mentioned.Clear();
        }

        var mentioned = _mentioned.GetOrAdd((database, question), key => Mentioned(key.Question, values));

        return group.Candidates.Select(sql =>
        {
            if (mentioned.Count == 0)
            {
                return 1.0;
            }

            var literals = Literal().Matches(sql).Select(m => m.Groups["s"].Success ? m.Groups["s"].Value.ToLowerInvariant() : m.Groups["n"].Value)
                .ToHashSet(StringComparer.Ordinal);
            return (double)mentioned.Count(literals.Contains) / mentioned.Count;
        }).ToArray();
    }

    /// <summary>The numbers the question mentions and the stored values it names as whole words.</summary>
    private static HashSet<string> Mentioned(string question, HashSet<string> values)
    {
        var mentioned = Number().Matches(question).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        foreach (var value in values.Where(v => question.Contains(v, StringComparison.Ordinal)
                     && Regex.IsMatch(question, $@"(?<![\p{{L}}\p{{N}}]){Regex.Escape(v)}(?![\p{{L}}\p{{N}}])")))
        {
            mentioned.Add(value);
        }

        return mentioned;
    }

    /// <summary>Distinct values of the database's text columns (those with at most the given number of them).</summary>
    private async Task<HashSet<string>> LoadAsync(string database, CancellationToken cancellationToken)
    {
        var columns = new List<(string Table, string Column)>();
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("db", database);
        using (var reader = await store.Client.ExecuteReaderAsync(
            "SELECT table, name FROM system.columns WHERE database = {db:String} AND type IN ('String', 'LowCardinality(String)')",
            parameters, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            while (reader.Read())
            {
                columns.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (table, column) in columns)
        {
            using var reader = await store.Client.ExecuteReaderAsync(
                $"SELECT DISTINCT lower(`{column}`) FROM `{database}`.`{table}` LIMIT {(maxValuesPerColumn + 1).ToString(CultureInfo.InvariantCulture)}",
                cancellationToken: cancellationToken).ConfigureAwait(false);
            var found = new List<string>();
            while (reader.Read())
            {
                found.Add(reader.GetString(0));
            }

            if (found.Count <= maxValuesPerColumn)
            {
                values.UnionWith(found.Where(v => v.Length > 1));
            }
        }

        return values;
    }

    [GeneratedRegex(@"(?<![\p{L}\p{N}.])\d+(?:\.\d+)?(?![\p{L}\p{N}])")]
    private static partial Regex Number();

    // A quoted string, or a number that follows a comparison operator.
    [GeneratedRegex(@"'(?<s>[^']*)'|(?:[=<>]\s*)(?<n>-?\d+(?:\.\d+)?)\b")]
    private static partial Regex Literal();
}
