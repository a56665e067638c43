namespace Tao.Gateway.Feedback;

public enum FeedbackLevel
{
    Request,
    Episode,
}
