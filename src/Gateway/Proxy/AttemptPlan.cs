using System.Diagnostics;
using Tao.Capture;
using Tao.Gateway.Routing;
using Yarp.ReverseProxy.Model;

namespace Tao.Gateway.Proxy;

/// <summary>A model to try for a call and the cluster serving it.</summary>
internal sealed record AttemptTarget(ResolvedModel Model, ClusterState Cluster);

/// <summary>
/// One call's attempts: the targets in order (the model, then its fallbacks), what each attempt did, and the decision
/// after a failure — retry the same target (per-call count, cluster retry budget, backoff honouring Retry-After) or
/// move to the next target, or stop. It only ever decides about failures nothing of which reached the client.
/// </summary>
internal sealed class AttemptPlan(IReadOnlyList<AttemptTarget> targets, ResiliencePolicy? policy, RetryBudget budget, long callStarted)
{
    private int _target;
    private int _retries;

    public AttemptTarget Current => targets[_target];

    /// <summary>True on the last target: nothing else could answer the call.</summary>
    public bool OnLastTarget => _target == targets.Count - 1;

    public List<CaptureAttempt> Attempts { get; } = [];

    /// <summary>Whether a failure could lead to another attempt at all (retries or fallbacks configured); most calls have neither.</summary>
    public bool CanRetry => policy is not null && (policy.Retries > 0 || targets.Count > 1);

    /// <summary>Statuses an upstream answers when another try may succeed: rate limited, failing, overloaded (529 is Anthropic's).</summary>
    public static bool IsRetryable(int status) => status is 429 or 500 or 502 or 503 or 504 or 529;

    /// <summary>
    /// After a failed attempt: the delay before the next one (which <see cref="Current"/> then names), or null when
    /// there is none and the failure is the answer. <paramref name="sameTarget"/> is false when the target cannot be
    /// tried again at all (every destination ejected).
    /// </summary>
    public TimeSpan? Next(TimeSpan? retryAfter, bool sameTarget)
    {
        if (policy is null)
        {
            return null;
        }

        var waitable = retryAfter is not { } asked || asked.TotalSeconds <= policy.MaxRetryAfterSeconds;
        if (sameTarget && waitable && _retries < policy.Retries && budget.TryWithdraw(Current.Cluster.ClusterId))
        {
            var backoff = Math.Min(policy.MaxBackoffMs, policy.BackoffMs * Math.Pow(2, _retries));
            _retries++;
            var jittered = TimeSpan.FromMilliseconds(backoff / 2 + Random.Shared.NextDouble() * backoff / 2);
            return retryAfter is { } wait && wait > jittered ? wait : jittered;
        }

        if (_target + 1 < targets.Count)
        {
            _target++;
            _retries = 0;
            return TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>Notes what an attempt did, for the capture record.</summary>
    public CaptureAttempt Record(AttemptTarget target, string upstream, int status, string error, long started, long ended)
    {
        var attempt = new CaptureAttempt
        {
            Model = target.Model.Name,
            Cluster = target.Cluster.ClusterId,
            Upstream = upstream,
            Status = status,
            Error = error,
            StartedMs = Math.Round(Stopwatch.GetElapsedTime(callStarted, started).TotalMilliseconds, 3),
            LatencyMs = Math.Round(Stopwatch.GetElapsedTime(started, ended).TotalMilliseconds, 3),
        };
        lock (Attempts)
        {
            Attempts.Add(attempt);
        }

        return attempt;
    }
}
