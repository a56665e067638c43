namespace Tao.Gateway.Feedback;

/// <summary>
/// The feedback metrics users may post (TensorZero's semantics): each has a type, a level and a direction.
/// "comment" and "demonstration" are reserved kinds, always accepted at either level.
/// </summary>
public sealed class FeedbackOptions
{
    public const string Section = "Tao:Feedback";

    /// <summary>Declared metrics by name, e.g. "thumbs_up": { "Type": "Boolean" }. Default: none.</summary>
    public Dictionary<string, FeedbackMetric> Metrics { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long to wait for a call's record to reach the store before feedback on it is refused as unknown, in seconds. Default: 3.</summary>
    public double LookupWaitSeconds { get; set; } = 3;
}
