namespace Tao.Gateway.Feedback;

public enum FeedbackMetricType
{
    Boolean,
    Float,
}
