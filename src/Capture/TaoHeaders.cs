namespace Tao.Capture;

/// <summary>The HTTP headers Tao defines, in one place: the gateway reads and writes them, clients and tools send them.</summary>
public static class TaoHeaders
{
    /// <summary>On every answer: the capture record's id, what feedback and the analytics API take.</summary>
    public const string RequestId = "x-tao-request-id";

    /// <summary>Files a call under a task (within what its key allows).</summary>
    public const string Task = "x-tao-task";

    /// <summary>Groups calls into an episode (a conversation, an agent run) that feedback can rate as a whole.</summary>
    public const string Episode = "x-tao-episode-id";

    /// <summary>"off" keeps a call out of the capture (only for keys with CaptureControl).</summary>
    public const string Capture = "x-tao-capture";
}
