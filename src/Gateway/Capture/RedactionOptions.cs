namespace Tao.Gateway.Capture;

/// <summary>
/// Patterns masked in captured text. Secrets and card numbers are masked by default (they are never training data
/// and should never sit in a log store); e-mail addresses and custom patterns are opt-in. A key with CaptureControl
/// may turn redaction off or on for its own calls (ApiKey.Redact).
/// </summary>
public sealed class RedactionOptions
{
    /// <summary>
    /// Mask common secrets as [SECRET]: API keys (OpenAI, Anthropic, AWS access keys, GitHub, Slack, Google, Stripe),
    /// bearer tokens, JSON web tokens and PEM private key blocks. Default: true.
    /// </summary>
    public bool Secrets { get; set; } = true;

    /// <summary>Mask payment card numbers (13-19 digits passing the Luhn check) as [CARD]. Default: true.</summary>
    public bool CardNumbers { get; set; } = true;

    /// <summary>Mask e-mail addresses as [EMAIL]. Default: false.</summary>
    public bool Emails { get; set; }

    /// <summary>Extra regular expressions; matches become [REDACTED]. Default: none.</summary>
    public List<string> Patterns { get; set; } = [];

    public bool Any => Secrets || Emails || CardNumbers || Patterns.Count > 0;
}
