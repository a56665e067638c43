namespace Tao.Gateway.Feedback;

public sealed class FeedbackMetric
{
    /// <summary>Boolean (true/false, stored 1/0) or Float. Default: Boolean.</summary>
    public FeedbackMetricType Type { get; set; } = FeedbackMetricType.Boolean;

    /// <summary>Request (rates one call) or Episode (rates every call of an episode). Default: Request.</summary>
    public FeedbackLevel Level { get; set; } = FeedbackLevel.Request;

    /// <summary>Whether larger values are better (the flywheel and the canary gate read it). Default: true.</summary>
    public bool HigherIsBetter { get; set; } = true;
}
