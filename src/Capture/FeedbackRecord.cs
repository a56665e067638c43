namespace Tao.Capture;

/// <summary>
/// A user's signal on a call or an episode, as it travels the capture path: spool, then the feedback table and the
/// tao.feedback topic. Its JSON form starts with "kind":"feedback", which is how a sink tells it from a capture
/// record in the one spool both share.
/// </summary>
public sealed class FeedbackRecord
{
    /// <summary>Always "feedback"; first in the JSON so the spool's readers can route without parsing.</summary>
    public string Kind { get; set; } = "feedback";

    public Guid FeedbackId { get; set; }

    /// <summary>The request id or episode id the feedback is about.</summary>
    public string TargetId { get; set; } = string.Empty;

    /// <summary>"request" or "episode".</summary>
    public string Level { get; set; } = "request";

    public string Metric { get; set; } = string.Empty;

    /// <summary>"boolean", "float", "comment" or "demonstration".</summary>
    public string ValueKind { get; set; } = string.Empty;

    /// <summary>The value of boolean (0/1) and float metrics; null for comments and demonstrations.</summary>
    public double? Value { get; set; }

    public string Comment { get; set; } = string.Empty;

    /// <summary>An edited ideal answer for the target call (a supervised target for the flywheel).</summary>
    public string Demonstration { get; set; } = string.Empty;

    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The key that gave the feedback (the admin's is "admin").</summary>
    public string ApiKeyId { get; set; } = string.Empty;

    public DateTime CreatedAt { get; set; }

    public string Gateway { get; set; } = string.Empty;
}
