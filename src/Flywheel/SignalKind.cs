namespace Tao.Flywheel;

/// <summary>What a signal measures.</summary>
public enum SignalKind
{
    /// <summary>Accuracy on the user's labelled canary set (never trained on).</summary>
    Labelled,

    /// <summary>
    /// Share of held-out captured inputs whose answer passes the task's verifiers (the required parts of its scorer),
    /// each answer checked alone: no agreement pool, so a candidate gains nothing from agreeing with itself.
    /// </summary>
    Verified,

    /// <summary>Share of live calls that succeeded, canary version against the version it would replace (higher is better).</summary>
    Live,

    /// <summary>Share of rated live calls that users rated up (a boolean feedback metric), canary against live.</summary>
    Feedback,
}
