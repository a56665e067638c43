namespace Tao.Gateway.Routing;

/// <summary>
/// What the gateway does when a model's upstream fails before its answer starts (Tao:Resilience:&lt;model or alias&gt;):
/// retry it, then fall back to other models in order. A call's policy is its alias's when the alias has one, else its
/// model's. Nothing is retried once a byte of the answer has reached the client.
/// </summary>
public sealed class ResiliencePolicy
{
    /// <summary>Extra attempts on each target (the model, then each fallback) after a retryable failure. Default: 0.</summary>
    public int Retries { get; set; }

    /// <summary>Delay before the first retry on a target, in ms; it doubles per retry (with jitter) up to <see cref="MaxBackoffMs"/>. Default: 100.</summary>
    public int BackoffMs { get; set; } = 100;

    /// <summary>Longest delay between retries on a target, in ms. Default: 2000.</summary>
    public int MaxBackoffMs { get; set; } = 2000;

    /// <summary>
    /// The longest Retry-After (seconds) the gateway waits for before retrying the same target; an upstream asking for
    /// longer is left for the next fallback instead. Default: 5.
    /// </summary>
    public double MaxRetryAfterSeconds { get; set; } = 5;

    /// <summary>
    /// Models or aliases to try, in order, when the model's attempts are spent: another model on another cluster. Each
    /// gets the same <see cref="Retries"/>; their own fallbacks are not followed. A fallback must speak the API of the
    /// surface called (it is skipped otherwise). Default: none.
    /// </summary>
    public List<string> Fallbacks { get; set; } = [];
}
