using Tao.Trainer.Evaluation;
using Tao.Trainer.Registry;

namespace Tao.Flywheel;

/// <summary>
/// Makes a registered version live behind the group's alias: the target serves it first (model server load, vLLM
/// adapter load, or a new cluster), then the gateway learns the model, then the alias moves — optionally through a
/// canary share first. Each step leaves the previous version serving until the alias moves atomically. During a canary
/// the live success rates of both versions are compared; a significantly worse canary is rolled back, never promoted.
/// </summary>
public sealed partial class Promoter(ModelRegistry registry, GatewayAdminClient gateway, Func<string, HttpClient> http, ILogger<Promoter> logger,
    CaptureReader? captures = null, TimeProvider? time = null)
{
    /// <summary>What promotion did: whether the version is now live, and the canary's live comparison when there was one.</summary>
    public sealed record Outcome(bool Live, PromotionSignal? Canary, string? Reason)
    {
        /// <summary>The canary's feedback comparison (share of rated calls rated up), when the group names a metric.</summary>
        public PromotionSignal? Feedback { get; init; }
    }

    private TimeProvider Clock => time ?? TimeProvider.System;

    public async Task<Outcome> PromoteAsync(ModelGroupOptions group, string version, CancellationToken cancellationToken)
    {
        await ServeAsync(group, version, cancellationToken);
        var previous = await gateway.AliasTargetAsync(group.Alias, cancellationToken);
        PromotionSignal? canary = null;
        PromotionSignal? rated = null;
        if (group.CanaryPercent > 0 && previous is not null && previous != version)
        {
            LogCanary(logger, group.Alias, version, group.CanaryPercent);
            var start = Clock.GetUtcNow().UtcDateTime;
            await gateway.PutAliasAsync(group.Alias, previous, version, group.CanaryPercent, cancellationToken);
            await Task.Delay(TimeSpan.FromSeconds(group.CanarySeconds), Clock, cancellationToken);
            if (captures is not null)
            {
                var end = start.AddSeconds(group.CanarySeconds);
                var longest = start.AddSeconds(Math.Max(group.CanarySeconds, group.CanaryMaxSeconds));
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), Clock, cancellationToken); // the last captures of the window reach the store
                    var outcomes = await captures.OutcomesAsync(group.Alias, start, end, cancellationToken);
                    var before = outcomes.GetValueOrDefault(previous);
                    var after = outcomes.GetValueOrDefault(version);
                    canary = new PromotionSignal("canary", SignalKind.Live, PairedComparison.Independent(before.Succeeded, before.Calls, after.Succeeded, after.Calls));
                    var evidence = Math.Min(before.Calls, after.Calls);
                    rated = null;
                    if (group.CanaryFeedbackMetric is { Length: > 0 } metric)
                    {
                        var feedback = await captures.FeedbackOutcomesAsync(group.Alias, start, end, metric, cancellationToken);
                        var (liveRated, liveUp) = feedback.GetValueOrDefault(previous);
                        var (canaryRated, canaryUp) = feedback.GetValueOrDefault(version);
                        rated = new PromotionSignal(metric, SignalKind.Feedback, PairedComparison.Independent(liveUp, liveRated, canaryUp, canaryRated));
                        evidence = Math.Min(liveRated, canaryRated);
                    }

                    if (evidence >= group.CanaryMinCalls || end >= longest)
                    {
                        break;
                    }

                    // Too little to decide on: the canary runs on, and the window grows to now.
                    await Task.Delay(TimeSpan.FromSeconds(1), Clock, cancellationToken);
                    var now = Clock.GetUtcNow().UtcDateTime;
                    end = now < longest ? now : longest;
                }

                foreach (var signal in new[] { canary, rated })
                {
                    if (signal is { Comparison.SignificantLoss: true })
                    {
                        await gateway.PutAliasAsync(group.Alias, previous, null, 0, cancellationToken);
                        var reason = "canary rolled back: " + PromotionPolicy.Describe(signal);
                        LogCanaryFailed(logger, group.Alias, version, reason);
                        return new Outcome(false, canary, reason) { Feedback = rated };
                    }
                }

                if (rated is not null)
                {
                    await gateway.PutAliasAsync(group.Alias, version, null, 0, cancellationToken);
                    LogPromoted(logger, group.Alias, version);
                    return new Outcome(true, canary, null) { Feedback = rated };
                }
            }
        }

        await gateway.PutAliasAsync(group.Alias, version, null, 0, cancellationToken);
        LogPromoted(logger, group.Alias, version);
        return new Outcome(true, canary, null);
    }

    /// <summary>Makes the version servable and known to the gateway, without moving the alias.</summary>
    public async Task ServeAsync(ModelGroupOptions group, string version, CancellationToken cancellationToken)
    {
        var target = group.Target;
        var folder = registry.Folder(version);
        switch (target.Kind.ToLowerInvariant())
        {
            case "local":
                registry.Verify(version);
                await new ModelServerClient(http(target.ServerUrl), target.ServerAdminKey).LoadAsync(version, Path.GetFullPath(folder), cancellationToken);
                await gateway.PutModelAsync(version, target.Cluster, version, version, cancellationToken);
                break;
            case "vllm":
                registry.Verify(version);
                await new VllmClient(http(target.VllmUrl)).LoadAdapterAsync(version, Path.GetFullPath(folder), cancellationToken);
                await gateway.PutModelAsync(version, target.Cluster, version, version, cancellationToken);
                break;
            case "url":
                var cluster = "tao-" + version;
                await gateway.PutClusterAsync(cluster, target.Url ?? throw new ArgumentException("the Url target needs Url"), cancellationToken);
                await gateway.PutModelAsync(version, cluster, target.UrlModel ?? version, version, cancellationToken);
                break;
            default:
                throw new ArgumentException($"unknown promotion target '{target.Kind}' (Local, Vllm, Url)");
        }
    }

    /// <summary>Moves the alias back to the version the current one was tuned from (the last promoted ancestor).</summary>
    public async Task<string> RollbackAsync(string groupName, ModelGroupOptions group, CancellationToken cancellationToken)
    {
        var current = await gateway.AliasTargetAsync(group.Alias, cancellationToken) ?? throw new InvalidOperationException($"alias {group.Alias} is unknown to the gateway");
        var lineage = registry.Lineage(current);
        var previous = lineage.Take(lineage.Count - 1).LastOrDefault(v => VersionStatus.CanServe(v.Status))
            ?? throw new InvalidOperationException($"{current} has no earlier version to roll back to");
        await ServeAsync(group, previous.Id, cancellationToken);
        await gateway.PutAliasAsync(group.Alias, previous.Id, null, 0, cancellationToken);
        registry.Update(current, v => v with { Status = VersionStatus.RolledBack, Decision = $"rolled back to {previous.Id} at {Clock.GetUtcNow():O}" });
        LogRolledBack(logger, groupName, current, previous.Id);
        return previous.Id;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Canary: {Alias} sends {Percent}% of calls to {Version}")]
    private static partial void LogCanary(ILogger logger, string alias, string version, double percent);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Promoted: {Alias} now serves {Version}")]
    private static partial void LogPromoted(ILogger logger, string alias, string version);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Canary of {Version} behind {Alias} failed: {Reason}")]
    private static partial void LogCanaryFailed(ILogger logger, string alias, string version, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Rolled back {Group}: {From} -> {To}")]
    private static partial void LogRolledBack(ILogger logger, string group, string from, string to);
}
