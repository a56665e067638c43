namespace Tao.Capture;

/// <summary>One sampled token and its log-probability.</summary>
public sealed class CaptureLogProb
{
    public string Token { get; set; } = string.Empty;
    public double Logprob { get; set; }
}
