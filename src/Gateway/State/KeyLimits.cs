namespace Tao.Gateway.State;

/// <summary>
/// What one key may spend. Zero means no limit. Counted per key across every gateway replica (see
/// <see cref="Limits.KeyLimiter"/>): requests and tokens per minute in fixed one-minute windows, streams while they
/// run, spend per UTC day and month priced with <c>Tao:Analytics:Prices</c>.
/// </summary>
public sealed class KeyLimits
{
    /// <summary>Requests per minute. Default: 0 (no limit).</summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>Tokens (prompt and completion) per minute. Default: 0 (no limit).</summary>
    public int TokensPerMinute { get; set; }

    /// <summary>Streamed requests running at once. Default: 0 (no limit).</summary>
    public int ConcurrentStreams { get; set; }

    /// <summary>Spend per UTC day in USD, from the configured prices. Default: 0 (no limit).</summary>
    public double DailyBudgetUsd { get; set; }

    /// <summary>Spend per UTC calendar month in USD. Default: 0 (no limit).</summary>
    public double MonthlyBudgetUsd { get; set; }

    /// <summary>Largest request body for this key, in bytes (the gateway's own limit still applies). Default: 0 (the gateway's).</summary>
    public long MaxRequestBodyBytes { get; set; }

    public bool Any => RequestsPerMinute > 0 || TokensPerMinute > 0 || ConcurrentStreams > 0 || DailyBudgetUsd > 0 || MonthlyBudgetUsd > 0;

    /// <summary>This key's limits, each unset one taken from <paramref name="defaults"/>.</summary>
    public KeyLimits Over(KeyLimits defaults) => new()
    {
        RequestsPerMinute = RequestsPerMinute > 0 ? RequestsPerMinute : defaults.RequestsPerMinute,
        TokensPerMinute = TokensPerMinute > 0 ? TokensPerMinute : defaults.TokensPerMinute,
        ConcurrentStreams = ConcurrentStreams > 0 ? ConcurrentStreams : defaults.ConcurrentStreams,
        DailyBudgetUsd = DailyBudgetUsd > 0 ? DailyBudgetUsd : defaults.DailyBudgetUsd,
        MonthlyBudgetUsd = MonthlyBudgetUsd > 0 ? MonthlyBudgetUsd : defaults.MonthlyBudgetUsd,
        MaxRequestBodyBytes = MaxRequestBodyBytes > 0 ? MaxRequestBodyBytes : defaults.MaxRequestBodyBytes,
    };
}
