using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Tao.Trainer.Registry;

namespace Tao.Flywheel;

/// <summary>
/// Watches each model group's tasks: when enough distinct new inputs have arrived since the last round (and the
/// minimum interval has passed), runs a round. Rounds of a group never overlap; a round found "running" at start
/// (the process died during it) is resumed from its folder, or abandoned when its folder is gone — never promoted
/// without its evaluation.
/// </summary>
public sealed partial class FlywheelService(
    IOptions<FlywheelOptions> options, FlywheelStore store, CaptureReader captures, ModelRegistry registry, RoundRunner runner,
    GatewayAdminClient gateway, ILeadership leadership, ILogger<FlywheelService> logger, TimeProvider time) : BackgroundService
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, GroupStatus> _status = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _active = new(StringComparer.Ordinal);
    private readonly RoundTrigger _trigger = new(time);

    public IReadOnlyCollection<GroupStatus> Status => _status.Values.ToList();

    /// <summary>Raised when a round finishes (promoted, rejected, failed or abandoned).</summary>
    public event Action<RoundRecord>? RoundFinished;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await PrepareGroupsAsync(stoppingToken);
        var resumed = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (leadership.IsLeader && !resumed)
            {
                await ResumeInterruptedAsync(stoppingToken); // the leader owns interrupted rounds
                resumed = true;
            }

            foreach (var (name, group) in options.Value.Groups)
            {
                try
                {
                    await CheckAsync(name, group, force: false, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    LogCheckFailed(logger, name, e);
                }
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, options.Value.PollSeconds)), time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Runs a round now, whatever the threshold (status API "run").</summary>
    public Task<RoundRecord?> RunNowAsync(string group, CancellationToken cancellationToken) =>
        options.Value.Groups.TryGetValue(group, out var settings)
            ? CheckAsync(group, settings, force: true, cancellationToken)
            : throw new KeyNotFoundException($"no model group '{group}'");

    private async Task<RoundRecord?> CheckAsync(string name, ModelGroupOptions group, bool force, CancellationToken cancellationToken)
    {
        var tasks = group.Tasks.Keys.ToList();
        var watermark = await store.WatermarkAsync(name, cancellationToken);
        var count = await captures.CountNewAsync(tasks, watermark, cancellationToken);
        var rounds = await store.RoundsAsync(name, cancellationToken, 1);
        var live = await LiveVersionAsync(group, cancellationToken);
        _status[name] = new GroupStatus(name, group.Alias, live, tasks, count, group.Threshold, watermark,
            _active.GetValueOrDefault(name), runner.Progress, rounds.FirstOrDefault(), leadership.IsLeader ? "leader" : "standby", leadership.Identity);
        if (!leadership.IsLeader)
        {
            return null; // another instance runs rounds; this one only reports
        }

        if (!force && !_trigger.IsDue(group, count, rounds.FirstOrDefault()))
        {
            return null;
        }

        if (live is null || registry.Get(live) is null)
        {
            LogNotTunable(logger, name, group.Alias, live);
            return null;
        }

        return await RunExclusiveAsync(name, group, live, null, cancellationToken);
    }

    private async Task<RoundRecord?> RunExclusiveAsync(string name, ModelGroupOptions group, string parent, RoundPlan? resumed, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        if (!await gate.WaitAsync(0, cancellationToken))
        {
            return null; // a round of this group is already running
        }

        try
        {
            _active[name] = resumed?.RoundId ?? "starting";
            var record = await runner.RunAsync(name, group, parent, resumed, cancellationToken);
            RoundFinished?.Invoke(record);
            return record;
        }
        finally
        {
            _active.TryRemove(name, out _);
            gate.Release();
        }
    }

    /// <summary>The version the alias serves now (the gateway knows), else the newest promoted or base version.</summary>
    private async Task<string?> LiveVersionAsync(ModelGroupOptions group, CancellationToken cancellationToken)
    {
        try
        {
            return await gateway.AliasTargetAsync(group.Alias, cancellationToken);
        }
        catch (HttpRequestException)
        {
            return registry.List().LastOrDefault(v => VersionStatus.CanServe(v.Status))?.Id;
        }
    }

    private async Task PrepareGroupsAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, group) in options.Value.Groups)
        {
            if (group.BaseModel is { } folder && group.BaseVersion.Length > 0 && registry.Get(group.BaseVersion) is null)
            {
                var version = registry.Register(folder, new ModelVersion
                {
                    Id = group.BaseVersion, CreatedAt = time.GetUtcNow(), Tasks = group.Tasks.Keys.ToList(), Status = VersionStatus.Base, Decision = "initial version",
                });
                await store.SaveVersionAsync(name, version, cancellationToken);
            }
        }
    }

    private async Task ResumeInterruptedAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, group) in options.Value.Groups)
        {
            foreach (var round in (await store.RoundsAsync(name, cancellationToken, 20)).Where(r => r.Status == RoundStatus.Running))
            {
                var planFile = Path.Combine(options.Value.WorkPath, "rounds", round.RoundId, "plan.json");
                if (File.Exists(planFile) && registry.Get(round.ParentVersion) is not null)
                {
                    LogResuming(logger, round.RoundId);
                    var plan = JsonSerializer.Deserialize<RoundPlan>(File.ReadAllText(planFile))!;
                    _ = Task.Run(() => RunExclusiveAsync(name, group, round.ParentVersion, plan, cancellationToken), cancellationToken);
                }
                else
                {
                    var abandoned = round with { Status = RoundStatus.Abandoned, Decision = RoundStatus.Abandoned, Reason = "interrupted, and its working folder is gone" };
                    await store.SaveAsync(abandoned, cancellationToken);
                    RoundFinished?.Invoke(abandoned);
                }
            }
        }
    }

    [LoggerMessage(EventId = 3200, Level = LogLevel.Warning, Message = "Flywheel check of {Group} failed")]
    private static partial void LogCheckFailed(ILogger logger, string group, Exception exception);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "{Group}: alias {Alias} serves {Version}, which is not in the registry; nothing to tune")]
    private static partial void LogNotTunable(ILogger logger, string group, string alias, string? version);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Resuming interrupted round {RoundId}")]
    private static partial void LogResuming(ILogger logger, string roundId);
}
