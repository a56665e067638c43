using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Options;
using Tao.Gateway.Analytics;
using Tao.Gateway.Auth;
using Tao.Gateway.OpenAi;
using Tao.Gateway.State;

namespace Tao.Gateway.Limits;

/// <summary>
/// Rate limits and budgets per API key. Each replica counts what it admits and, through <see cref="KeyUsageSync"/>,
/// learns what the other replicas admitted (the key_usage table): a call is refused when this replica's count plus the
/// others' last-synced counts reach a limit. Error bound: the others' traffic of one sync interval (plus the time a
/// row takes to reach the store) may be admitted beyond a limit; budgets are checked before a call and charged after
/// it, so calls already running when a budget is reached still complete.
/// </summary>
internal sealed class KeyLimiter(IOptionsMonitor<AuthOptions> auth, IOptionsMonitor<AnalyticsOptions> analytics, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, KeyUsage> _keys = new(StringComparer.Ordinal);

    internal IEnumerable<KeyValuePair<string, KeyUsage>> Usage => _keys;

    internal KeyUsage For(string keyId) => _keys.GetOrAdd(keyId, _ => new KeyUsage());

    /// <summary>What this replica counts for a key in the current minute, day and month: its own and the other replicas' (as last synced).</summary>
    public KeyUsageView UsageOf(string keyId)
    {
        var usage = For(keyId);
        lock (usage)
        {
            usage.Roll(time.GetUtcNow());
            return new KeyUsageView(usage.Window, usage.Requests, usage.OthersRequests, usage.Tokens, usage.OthersTokens, usage.Streams, usage.OthersStreams,
                (usage.DayCostMicros + usage.OthersDayCostMicros) / 1e6, (usage.MonthCostMicros + usage.OthersMonthCostMicros) / 1e6);
        }
    }

    /// <summary>The limits in force for a key: its own, each unset one from Tao:Auth:DefaultLimits.</summary>
    public KeyLimits LimitsOf(ApiKey key) => key.Limits.Over(auth.CurrentValue.DefaultLimits);

    /// <summary>Admits a call or says why not. An admitted call holds a lease until it ends.</summary>
    internal Admission Admit(ApiKey key, bool stream, int promptTokenEstimate)
    {
        var limits = LimitsOf(key);
        if (!limits.Any)
        {
            return Admission.Unlimited;
        }

        var now = time.GetUtcNow();
        var usage = For(key.Id);
        lock (usage)
        {
            usage.Roll(now);
            var requests = usage.Requests + usage.OthersRequests;
            var tokens = usage.Tokens + usage.OthersTokens;
            var resetMinute = TimeSpan.FromSeconds(60 - now.Second) - TimeSpan.FromMilliseconds(now.Millisecond);
            var headers = Headers(limits, requests + 1, tokens + promptTokenEstimate, resetMinute);

            if (limits.DailyBudgetUsd > 0 && usage.DayCostMicros + usage.OthersDayCostMicros >= limits.DailyBudgetUsd * 1e6)
            {
                var tomorrow = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
                return Admission.Refuse("insufficient_quota", "insufficient_quota",
                    $"This key has used its daily budget of {limits.DailyBudgetUsd.ToString("0.##", CultureInfo.InvariantCulture)} USD; it resets at 00:00 UTC.",
                    tomorrow - now, headers);
            }

            if (limits.MonthlyBudgetUsd > 0 && usage.MonthCostMicros + usage.OthersMonthCostMicros >= limits.MonthlyBudgetUsd * 1e6)
            {
                var next = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
                return Admission.Refuse("insufficient_quota", "insufficient_quota",
                    $"This key has used its monthly budget of {limits.MonthlyBudgetUsd.ToString("0.##", CultureInfo.InvariantCulture)} USD; it resets on the 1st at 00:00 UTC.",
                    next - now, headers);
            }

            if (limits.RequestsPerMinute > 0 && requests >= limits.RequestsPerMinute)
            {
                return Admission.Refuse("requests", "rate_limit_exceeded",
                    $"Rate limit reached for this key: {limits.RequestsPerMinute} requests per minute. Try again in {Seconds(resetMinute)}.",
                    resetMinute, Headers(limits, requests, tokens, resetMinute));
            }

            if (limits.TokensPerMinute > 0 && tokens >= limits.TokensPerMinute)
            {
                return Admission.Refuse("tokens", "rate_limit_exceeded",
                    $"Rate limit reached for this key: {limits.TokensPerMinute} tokens per minute. Try again in {Seconds(resetMinute)}.",
                    resetMinute, Headers(limits, requests, tokens, resetMinute));
            }

            if (stream && limits.ConcurrentStreams > 0 && usage.Streams + usage.OthersStreams >= limits.ConcurrentStreams)
            {
                return Admission.Refuse("requests", "rate_limit_exceeded",
                    $"This key already has {limits.ConcurrentStreams} streams running, its limit; try again when one ends.",
                    TimeSpan.FromSeconds(1), headers);
            }

            usage.Requests++;
            usage.Tokens += promptTokenEstimate;
            if (stream)
            {
                usage.Streams++;
            }

            usage.Dirty = true;
            return new Admission(null, headers, new Lease(this, key.Id, stream, promptTokenEstimate, usage.Window));
        }
    }

    /// <summary>Charges what a finished call used: tokens beyond the admission's estimate, and its price.</summary>
    internal void Charge(string keyId, int extraTokens, string model, string? alias, int promptTokens, int completionTokens, DateTime admittedIn)
    {
        var prices = analytics.CurrentValue.Prices;
        var price = prices.GetValueOrDefault(model) ?? (alias is null ? null : prices.GetValueOrDefault(alias)) ?? prices.GetValueOrDefault("*");
        var cost = price is null ? 0 : (long)Math.Round(promptTokens * price.Prompt + completionTokens * price.Completion);
        var usage = For(keyId);
        lock (usage)
        {
            usage.Roll(time.GetUtcNow());
            // The estimate was counted in the minute the call was admitted: a correction below it applies there only
            // (a later minute never loses tokens to a call it did not admit); tokens beyond it count now.
            if (extraTokens > 0 || usage.Window == admittedIn)
            {
                usage.Tokens = Math.Max(0, usage.Tokens + extraTokens);
            }

            usage.WindowCostMicros += cost;
            usage.DayCostMicros += cost;
            usage.MonthCostMicros += cost;
            usage.Dirty = true;
        }
    }

    internal void EndStream(string keyId)
    {
        var usage = For(keyId);
        lock (usage)
        {
            usage.Streams = Math.Max(0, usage.Streams - 1);
            usage.Dirty = true;
        }
    }

    private static Dictionary<string, string> Headers(KeyLimits limits, long requests, long tokens, TimeSpan reset)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        if (limits.RequestsPerMinute > 0)
        {
            headers[ApiHeaders.RateLimitLimitRequests] = limits.RequestsPerMinute.ToString(CultureInfo.InvariantCulture);
            headers[ApiHeaders.RateLimitRemainingRequests] = Math.Max(0, limits.RequestsPerMinute - requests).ToString(CultureInfo.InvariantCulture);
            headers[ApiHeaders.RateLimitResetRequests] = Seconds(reset);
        }

        if (limits.TokensPerMinute > 0)
        {
            headers[ApiHeaders.RateLimitLimitTokens] = limits.TokensPerMinute.ToString(CultureInfo.InvariantCulture);
            headers[ApiHeaders.RateLimitRemainingTokens] = Math.Max(0, limits.TokensPerMinute - tokens).ToString(CultureInfo.InvariantCulture);
            headers[ApiHeaders.RateLimitResetTokens] = Seconds(reset);
        }

        return headers;
    }

    /// <summary>OpenAI's reset format: "1s", "6m0s".</summary>
    internal static string Seconds(TimeSpan span)
    {
        var seconds = (int)Math.Ceiling(Math.Max(0, span.TotalSeconds));
        return seconds < 60 ? $"{seconds}s" : $"{seconds / 60}m{seconds % 60}s";
    }

    /// <summary>The answer to one admission: refused (with the error to send) or admitted with a lease.</summary>
    internal sealed record Admission(Refusal? Refused, IReadOnlyDictionary<string, string> Headers, Lease? Lease)
    {
        public static readonly Admission Unlimited = new(null, new Dictionary<string, string>(), null);

        public static Admission Refuse(string type, string code, string message, TimeSpan retryAfter, IReadOnlyDictionary<string, string> headers) =>
            new(new Refusal(type, code, message, retryAfter), headers, null);
    }

    internal sealed record Refusal(string Type, string Code, string Message, TimeSpan RetryAfter);

    /// <summary>An admitted call: charged once when it ends (from its usage when known, else its estimate).</summary>
    internal sealed class Lease(KeyLimiter limiter, string keyId, bool stream, int estimate, DateTime window)
    {
        private int _ended;

        public void End(string model, string? alias, int? promptTokens, int? completionTokens)
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0)
            {
                return;
            }

            // With no record (capture off for the call, or a recorder failure) the estimate stands and is priced, so
            // turning capture off does not turn the budget off.
            var prompt = promptTokens ?? estimate;
            var completion = completionTokens ?? 0;
            limiter.Charge(keyId, prompt + completion - estimate, model, alias, prompt, completion, window);

            if (stream)
            {
                limiter.EndStream(keyId);
            }
        }
    }
}

/// <summary>One key's counts on this replica, and the other replicas' as last read from the store.</summary>
internal sealed class KeyUsage
{
    public DateTime Window;
    public long Requests;
    public long Tokens;
    public long WindowCostMicros;
    public int Streams;
    public long DayCostMicros;
    public long MonthCostMicros;
    public bool Dirty;

    /// <summary>Closed minutes whose last counts were not written yet (KeyUsageSync writes and clears them).</summary>
    public List<(DateTime Window, long Requests, long Tokens, long CostMicros, int Streams)> Closed = [];

    public long OthersRequests;
    public long OthersTokens;
    public int OthersStreams;
    public long OthersDayCostMicros;
    public long OthersMonthCostMicros;

    /// <summary>Starts a new minute (and day, month) when the clock has moved past the current one.</summary>
    public void Roll(DateTimeOffset now)
    {
        var minute = new DateTime(now.UtcDateTime.Ticks - (now.UtcDateTime.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Utc);
        if (minute <= Window)
        {
            return; // forward only: a clock read before a lock was taken must not reopen a closed minute
        }

        if (Dirty && Window != default)
        {
            // The closing minute's last counts still have to reach the store (other replicas, restarts).
            Closed.Add((Window, Requests, Tokens, WindowCostMicros, Streams));
        }

        if (Window.Date != minute.Date)
        {
            DayCostMicros = 0;
            OthersDayCostMicros = 0;
        }

        if (Window.Year != minute.Year || Window.Month != minute.Month)
        {
            MonthCostMicros = 0;
            OthersMonthCostMicros = 0;
        }

        Window = minute;
        Requests = 0;
        Tokens = 0;
        WindowCostMicros = 0;
        OthersRequests = 0;
        OthersTokens = 0;
        Dirty = Streams > 0;
    }
}
