using System.Text.Json;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Tao.Storage;
using Tao.Storage.Schema;
using Tao.Trainer.Registry;

namespace Tao.Flywheel;

/// <summary>Rounds, versions and round inputs in ClickHouse: the flywheel's shared state and its history for analytics.</summary>
public sealed class FlywheelStore(ClickHouseStore store, TimeProvider time)
{
    private string Rounds => $"{store.Database}.{FlywheelTables.Rounds}";

    public async Task SaveAsync(RoundRecord round, CancellationToken cancellationToken)
    {
        object[] row =
        [
            round.RoundId, round.Group, round.Tasks.ToArray(), round.Status, round.StartedAt, time.GetUtcNow().UtcDateTime, round.WindowFrom, round.WindowTo,
            (uint)round.Inputs, (uint)round.TuningInputs, (uint)round.HeldOutInputs, round.ParentVersion, round.CandidateVersion,
            round.RewardFirst, round.RewardLast, JsonSerializer.Serialize(round.Evaluation), round.Decision, round.Reason, round.DurationSeconds,
        ];
        await store.Client.InsertBinaryAsync(Rounds, FlywheelTables.RoundColumns.Select(c => c.Name), [row], cancellationToken: cancellationToken);
    }

    public async Task SaveVersionAsync(string group, ModelVersion version, CancellationToken cancellationToken)
    {
        object[] row =
        [
            version.Id, group, version.Parent ?? string.Empty, version.CreatedAt.UtcDateTime, time.GetUtcNow().UtcDateTime, version.Status,
            version.RoundId ?? string.Empty, JsonSerializer.Serialize(version.Evaluation), version.Decision ?? string.Empty,
        ];
        await store.Client.InsertBinaryAsync($"{store.Database}.{FlywheelTables.Versions}", FlywheelTables.VersionColumns.Select(c => c.Name), [row],
            cancellationToken: cancellationToken);
    }

    public async Task SaveInputsAsync(string roundId, IEnumerable<(CapturedInput Input, string Role)> inputs, CancellationToken cancellationToken)
    {
        var rows = inputs.Select(i => new object[] { roundId, i.Input.RequestId, i.Input.PromptHash, i.Input.Task, i.Role }).ToList();
        if (rows.Count > 0)
        {
            await store.Client.InsertBinaryAsync($"{store.Database}.{FlywheelTables.RoundInputs}", FlywheelTables.RoundInputColumns.Select(c => c.Name), rows,
                cancellationToken: cancellationToken);
        }
    }

    /// <summary>Latest state of every round of a group (or of all groups), newest first.</summary>
    public async Task<List<RoundRecord>> RoundsAsync(string? group, CancellationToken cancellationToken, int limit = 100)
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("group", group ?? string.Empty);
        parameters.AddParameter("limit", (ulong)limit);
        var sql = $$"""
            SELECT round_id, model_group, tasks, status, started_at, updated_at, window_from, window_to, inputs, tuning_inputs, held_out_inputs,
                   parent_version, candidate_version, reward_first, reward_last, evaluation, decision, reason, duration_s
            FROM {{Rounds}} FINAL
            WHERE {group:String} = '' OR model_group = {group:String}
            ORDER BY started_at DESC
            LIMIT {limit:UInt64}
            """;
        var rounds = new List<RoundRecord>();
        using var reader = await store.Client.ExecuteReaderAsync(sql, parameters, cancellationToken: cancellationToken);
        while (reader.Read())
        {
            rounds.Add(new RoundRecord
            {
                RoundId = reader.GetString(0),
                Group = reader.GetString(1),
                Tasks = ((IEnumerable<object>)reader.GetValue(2)).Select(t => t.ToString()!).ToList(),
                Status = reader.GetString(3),
                StartedAt = Utc(reader.GetValue(4)),
                UpdatedAt = Utc(reader.GetValue(5)),
                WindowFrom = Utc(reader.GetValue(6)),
                WindowTo = Utc(reader.GetValue(7)),
                Inputs = Convert.ToInt32(reader.GetValue(8)),
                TuningInputs = Convert.ToInt32(reader.GetValue(9)),
                HeldOutInputs = Convert.ToInt32(reader.GetValue(10)),
                ParentVersion = reader.GetString(11),
                CandidateVersion = reader.GetString(12),
                RewardFirst = reader.GetDouble(13),
                RewardLast = reader.GetDouble(14),
                Evaluation = JsonSerializer.Deserialize<Dictionary<string, double>>(reader.GetString(15)) ?? [],
                Decision = reader.GetString(16),
                Reason = reader.GetString(17),
                DurationSeconds = reader.GetDouble(18),
            });
        }

        return rounds;
    }

    /// <summary>Where the next round's inputs start: the end of the last round that finished (promoted or rejected).</summary>
    public async Task<DateTime> WatermarkAsync(string group, CancellationToken cancellationToken)
    {
        var rounds = await RoundsAsync(group, cancellationToken, 1000);
        return rounds.Where(r => RoundStatus.JudgedItsInputs(r.Status)).Select(r => r.WindowTo).DefaultIfEmpty(DateTime.UnixEpoch).Max();
    }

    private static DateTime Utc(object value) => DateTime.SpecifyKind(Convert.ToDateTime(value), DateTimeKind.Utc);
}
