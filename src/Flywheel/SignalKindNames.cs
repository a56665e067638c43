namespace Tao.Flywheel;

internal static class SignalKindNames
{
    public static string Key(this SignalKind kind) => kind switch
    {
        SignalKind.Labelled => "labelled",
        SignalKind.Verified => "verified",
        SignalKind.Feedback => "feedback",
        _ => "live",
    };
}
