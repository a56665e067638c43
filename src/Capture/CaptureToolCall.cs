namespace Tao.Capture;

/// <summary>A tool (function) call the model made.</summary>
public sealed class CaptureToolCall
{
    public string Id { get; set; } = string.Empty;
    public string Name { get; set; } = string.Empty;

    /// <summary>The arguments as the model wrote them (JSON text, possibly cut at the capture cap).</summary>
    public string Arguments { get; set; } = string.Empty;
}
