using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Microsoft.Extensions.Options;
using Tao.Gateway.Settings;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Gateway.State;

/// <summary>
/// Keeps gateway replicas in agreement through the store they already write to: each replica's runtime state is one
/// versioned row in gateway_state. Every few seconds (and at once after a local change) a replica adopts a newer
/// shared state or publishes its own newer one. An admin change made through any replica reaches the others within
/// <see cref="GatewayOptions.StateSyncSeconds"/>; each replica swaps its routing atomically. Whole states are
/// versioned, so two admin changes on different replicas within one interval keep the later one.
/// </summary>
internal sealed partial class GatewayStateSync(
    GatewayStateStore state, ClickHouseStore store, Security.GatewaySecrets secrets, IOptions<GatewayOptions> options, TimeProvider time,
    ILogger<GatewayStateSync> logger)
    : BackgroundService
{
    private const string Key = "routing";
    private const string Purpose = "gateway-state";
    private readonly HashSet<long> _reported = [];
    private long _rejected;

    /// <summary>Rows of gateway_state this replica refused because their signature did not verify.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);
    private readonly SemaphoreSlim _nudge = new(0, 1);
    private bool _failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.StateSyncSeconds);
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        state.Updated += _ => Nudge();
        while (!stoppingToken.IsCancellationRequested)
        {
            await SyncOnceAsync(stoppingToken);
            try
            {
                await _nudge.WaitAsync(interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Reconciles once: adopt the shared state when newer, publish ours when newer. Errors are logged and retried.</summary>
    public async Task SyncOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            var local = state.Current;
            var parameters = new ClickHouseParameterCollection();
            parameters.AddParameter("key", Key);
            long sharedVersion = 0;
            GatewayState? shared = null;

            // The newest row this replica can verify wins. Rows without a valid signature (written by anyone who can
            // reach the store, not by a gateway) are reported and skipped, so they cannot change routing or keys. They
            // can delay sync (a flood of forged higher versions, or a merge that keeps only the highest): integrity
            // holds, availability of sync depends on who can write to the store (docs/security.md).
            using (var reader = await store.Client.ExecuteReaderAsync(
                $"SELECT version, state FROM {store.Database}.{GatewayStateTable.Name} WHERE key = {{key:String}} ORDER BY version DESC LIMIT 200",
                parameters, cancellationToken: cancellationToken))
            {
                while (reader.Read())
                {
                    var version = Convert.ToInt64(reader.GetValue(0));
                    if (Open(reader.GetString(1), version) is { } verified)
                    {
                        sharedVersion = version;
                        shared = verified;
                        break;
                    }

                    if (version > local.Version && RejectOnce(version))
                    {
                        LogRejected(logger, version);
                    }
                }
            }

            if (shared is not null && sharedVersion > local.Version)
            {
                if (state.Adopt(shared))
                {
                    LogAdopted(logger, sharedVersion);
                }
            }
            else if (local.Version > sharedVersion)
            {
                object[] row = [Key, (ulong)local.Version, time.GetUtcNow().UtcDateTime, options.Value.InstanceId, Seal(local)];
                await store.Client.InsertBinaryAsync($"{store.Database}.{GatewayStateTable.Name}", GatewayStateTable.Columns.Select(c => c.Name), [row],
                    cancellationToken: cancellationToken);
            }

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
                LogFailing(logger, e.Message); // routing keeps working from the local state file
            }
        }
    }

    /// <summary>The stored form of a state: "sig:&lt;HMAC of version and JSON&gt;", a newline, the JSON.</summary>
    public string Seal(GatewayState local)
    {
        var json = GatewayStateStore.Serialize(local);
        return $"sig:{secrets.Sign(Purpose, $"{local.Version}\n{json}")}\n{json}";
    }

    /// <summary>The state in a stored row when its signature verifies and its version is the row's; otherwise null.</summary>
    public GatewayState? Open(string stored, long rowVersion)
    {
        var newline = stored.IndexOf('\n', StringComparison.Ordinal);
        if (!stored.StartsWith("sig:", StringComparison.Ordinal) || newline < 0)
        {
            return null;
        }

        var json = stored[(newline + 1)..];
        if (!secrets.Verify(Purpose, $"{rowVersion}\n{json}", stored[4..newline]))
        {
            return null;
        }

        try
        {
            var parsed = GatewayStateStore.Deserialize(json);
            return parsed.Version == rowVersion ? parsed : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }



    private bool RejectOnce(long version)
    {
        lock (_reported)
        {
            if (!_reported.Add(version))
            {
                return false;
            }
        }

        Interlocked.Increment(ref _rejected);
        return true;
    }

    private void Nudge()
    {
        if (_nudge.CurrentCount == 0)
        {
            try
            {
                _nudge.Release();
            }
            catch (SemaphoreFullException)
            {
            }
        }
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Adopted gateway state version {Version} from another replica")]
    private static partial void LogAdopted(ILogger logger, long version);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Gateway state sync failing ({Reason}); serving the local state")]
    private static partial void LogFailing(ILogger logger, string reason);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "Ignored gateway state version {Version} in the store: its signature does not verify with this gateway's secret "
        + "(written by something that is not a gateway, or by a replica with another secret)")]
    private static partial void LogRejected(ILogger logger, long version);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Gateway state sync recovered")]
    private static partial void LogRecovered(ILogger logger);
}
