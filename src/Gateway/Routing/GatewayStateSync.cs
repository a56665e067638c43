using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Microsoft.Extensions.Options;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Gateway.Routing;

/// <summary>
/// Keeps gateway replicas in agreement through the store they already write to: each replica's runtime state is one
/// versioned row in gateway_state. Every few seconds (and at once after a local change) a replica adopts a newer
/// shared state or publishes its own newer one. An admin change made through any replica reaches the others within
/// <see cref="GatewayOptions.StateSyncSeconds"/>; each replica swaps its routing atomically. Whole states are
/// versioned, so two admin changes on different replicas within one interval keep the later one.
/// </summary>
public sealed partial class GatewayStateSync(
    GatewayStateStore state, ClickHouseStore store, IOptions<GatewayOptions> options, ILogger<GatewayStateSync> logger) : BackgroundService
{
    private const string Key = "routing";
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
            var parameters = new ClickHouseParameterCollection();
            parameters.AddParameter("key", Key);
            long sharedVersion = 0;
            string? sharedJson = null;
            using (var reader = await store.Client.ExecuteReaderAsync(
                $"SELECT version, state FROM {store.Database}.{GatewayStateTable.Name} WHERE key = {{key:String}} ORDER BY version DESC LIMIT 1",
                parameters, cancellationToken: cancellationToken))
            {
                if (reader.Read())
                {
                    sharedVersion = Convert.ToInt64(reader.GetValue(0));
                    sharedJson = reader.GetString(1);
                }
            }

            var local = state.Current;
            if (sharedJson is not null && sharedVersion > local.Version)
            {
                if (state.Adopt(GatewayStateStore.Deserialize(sharedJson)))
                {
                    LogAdopted(logger, sharedVersion);
                }
            }
            else if (local.Version > sharedVersion)
            {
                object[] row = [Key, (ulong)local.Version, DateTime.UtcNow, options.Value.InstanceId, GatewayStateStore.Serialize(local)];
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

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Gateway state sync recovered")]
    private static partial void LogRecovered(ILogger logger);
}
