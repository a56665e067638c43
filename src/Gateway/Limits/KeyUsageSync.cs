using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Microsoft.Extensions.Options;
using Tao.Gateway.Settings;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Gateway.Limits;

/// <summary>
/// Shares <see cref="KeyLimiter"/>'s counts through the store every <see cref="GatewayOptions.LimitSyncSeconds"/>:
/// writes this replica's row per key and minute (only when it changed, or while streams run), reads the sums of the
/// other replicas' latest rows. On start it reads its own rows back, so a restarted replica keeps counting the minute,
/// day and month it was in. With the store unreachable each replica enforces what it sees itself.
/// </summary>
internal sealed partial class KeyUsageSync(
    KeyLimiter limiter, ClickHouseStore store, IOptions<GatewayOptions> options, TimeProvider time, ILogger<KeyUsageSync> logger) : BackgroundService
{
    private static readonly string[] s_columns = KeyUsageTable.Columns.Select(c => c.Name).ToArray();
    private bool _seeded;
    private bool _failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.LimitSyncSeconds);
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, time);
        do
        {
            await SyncOnceAsync(stoppingToken);
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task SyncOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var now = time.GetUtcNow();
            if (!_seeded)
            {
                await ReadAsync(now, own: true, cancellationToken);
                _seeded = true;
            }

            await WriteAsync(now, cancellationToken);
            await ReadAsync(now, own: false, cancellationToken);
            if (_failing)
            {
                _failing = false;
                LogRecovered(logger);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (!_failing)
            {
                _failing = true;
                LogFailing(logger, e.Message);
            }
        }
    }

    private async Task WriteAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = new List<object[]>();
        var written = new List<KeyUsage>();
        foreach (var (keyId, usage) in limiter.Usage)
        {
            lock (usage)
            {
                usage.Roll(now);
                foreach (var closed in usage.Closed)
                {
                    rows.Add([keyId, closed.Window, options.Value.InstanceId, (ulong)closed.Requests, (ulong)Math.Max(0, closed.Tokens),
                        (ulong)closed.CostMicros, (uint)closed.Streams, now.UtcDateTime]);
                }

                usage.Closed.Clear();
                if (!usage.Dirty && usage.Streams == 0)
                {
                    continue;
                }

                rows.Add([keyId, usage.Window, options.Value.InstanceId, (ulong)usage.Requests, (ulong)Math.Max(0, usage.Tokens),
                    (ulong)usage.WindowCostMicros, (uint)usage.Streams, now.UtcDateTime]);
                usage.Dirty = false;
                written.Add(usage);
            }
        }

        if (rows.Count == 0)
        {
            return;
        }

        try
        {
            await store.Client.InsertBinaryAsync($"{store.Database}.{KeyUsageTable.Name}", s_columns, rows, cancellationToken: cancellationToken);
        }
        catch
        {
            foreach (var usage in written)
            {
                lock (usage)
                {
                    usage.Dirty = true; // written next time
                }
            }

            throw;
        }
    }

    private async Task ReadAsync(DateTimeOffset now, bool own, CancellationToken cancellationToken)
    {
        var minute = new DateTime(now.UtcDateTime.Ticks - (now.UtcDateTime.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Utc);
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("minute", minute);
        parameters.AddParameter("day", minute.Date);
        parameters.AddParameter("month", new DateTime(minute.Year, minute.Month, 1, 0, 0, 0, DateTimeKind.Utc));
        parameters.AddParameter("fresh", now.UtcDateTime - TimeSpan.FromSeconds(Math.Max(3, 3 * options.Value.LimitSyncSeconds)));
        parameters.AddParameter("self", options.Value.InstanceId);
        var sql = $"""
            SELECT key_id,
                   sumIf(r, window = {"{minute:DateTime}"}), sumIf(t, window = {"{minute:DateTime}"}),
                   sumIf(s, window = {"{minute:DateTime}"} AND u > {"{fresh:DateTime64(3)}"}),
                   sumIf(c, window >= {"{day:DateTime}"}), sum(c), sumIf(c, window = {"{minute:DateTime}"})
            FROM (
                SELECT key_id, window, instance, argMax(requests, updated) AS r, argMax(tokens, updated) AS t,
                       argMax(cost_micros, updated) AS c, argMax(streams, updated) AS s, max(updated) AS u
                FROM {store.Database}.{KeyUsageTable.Name}
                WHERE window >= {"{month:DateTime}"} AND instance {(own ? "=" : "!=")} {"{self:String}"}
                GROUP BY key_id, window, instance)
            GROUP BY key_id
            """;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using (var reader = await store.Client.ExecuteReaderAsync(sql, parameters, cancellationToken: cancellationToken))
        {
            while (reader.Read())
            {
                var keyId = reader.GetString(0);
                seen.Add(keyId);
                var usage = limiter.For(keyId);
                lock (usage)
                {
                    usage.Roll(now);
                    if (own)
                    {
                        // A restart: continue this replica's own counts where its last written row left them.
                        usage.Requests += Convert.ToInt64(reader.GetValue(1));
                        usage.Tokens += Convert.ToInt64(reader.GetValue(2));
                        usage.WindowCostMicros += Convert.ToInt64(reader.GetValue(6));
                        usage.DayCostMicros += Convert.ToInt64(reader.GetValue(4));
                        usage.MonthCostMicros += Convert.ToInt64(reader.GetValue(5));
                    }
                    else
                    {
                        usage.OthersRequests = Convert.ToInt64(reader.GetValue(1));
                        usage.OthersTokens = Convert.ToInt64(reader.GetValue(2));
                        usage.OthersStreams = (int)Convert.ToInt64(reader.GetValue(3));
                        usage.OthersDayCostMicros = Convert.ToInt64(reader.GetValue(4));
                        usage.OthersMonthCostMicros = Convert.ToInt64(reader.GetValue(5));
                    }
                }
            }
        }

        if (!own)
        {
            foreach (var (keyId, usage) in limiter.Usage)
            {
                if (!seen.Contains(keyId))
                {
                    lock (usage)
                    {
                        usage.OthersRequests = usage.OthersTokens = 0;
                        usage.OthersStreams = 0;
                        usage.OthersDayCostMicros = usage.OthersMonthCostMicros = 0;
                    }
                }
            }
        }
    }

    /// <summary>Writes what this replica counted since the last sync before it stops, so a restart continues from it.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (options.Value.LimitSyncSeconds > 0)
        {
            try
            {
                await WriteAsync(time.GetUtcNow(), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailing(logger, e.Message);
            }
        }
    }

    [LoggerMessage(EventId = 1310, Level = LogLevel.Warning, Message = "Key usage sync failing ({Reason}); limits count this replica's calls only")]
    private static partial void LogFailing(ILogger logger, string reason);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Information, Message = "Key usage sync recovered")]
    private static partial void LogRecovered(ILogger logger);
}
