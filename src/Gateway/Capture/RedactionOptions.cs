namespace Tao.Gateway.Capture;

/// <summary>Patterns masked in captured text. Off by default: turn on what your traffic needs.</summary>
public sealed class RedactionOptions
{
    /// <summary>Mask e-mail addresses as [EMAIL]. Default: false.</summary>
    public bool Emails { get; set; }

    /// <summary>Mask payment card numbers (13-19 digits passing the Luhn check) as [CARD]. Default: false.</summary>
    public bool CardNumbers { get; set; }

    /// <summary>Extra regular expressions; matches become [REDACTED]. Default: none.</summary>
    public List<string> Patterns { get; set; } = [];

    public bool Any => Emails || CardNumbers || Patterns.Count > 0;
}
