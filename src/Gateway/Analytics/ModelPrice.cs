namespace Tao.Gateway.Analytics;

/// <summary>USD per million prompt and completion tokens.</summary>
public sealed class ModelPrice
{
    public double Prompt { get; set; }
    public double Completion { get; set; }
}
