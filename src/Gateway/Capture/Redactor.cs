using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tao.Gateway.Capture;

/// <summary>Masks configured patterns in text before it reaches a capture record.</summary>
internal sealed partial class Redactor
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMilliseconds(100);
    private readonly bool _emails;
    private readonly bool _cards;
    private readonly Regex[] _custom;

    public Redactor(IOptions<CaptureOptions> options)
    {
        var redaction = options.Value.Redaction;
        _emails = redaction.Emails;
        _cards = redaction.CardNumbers;
        _custom = redaction.Patterns.Select(p => new Regex(p, RegexOptions.Compiled | RegexOptions.CultureInvariant, s_timeout)).ToArray();
        Enabled = redaction.Any;
    }

    public bool Enabled { get; }

    public string Apply(string text)
    {
        if (!Enabled || text.Length == 0)
        {
            return text;
        }

        try
        {
            if (_emails)
            {
                text = Email().Replace(text, "[EMAIL]");
            }

            if (_cards)
            {
                text = CardCandidate().Replace(text, m => PassesLuhn(m.Value) ? "[CARD]" : m.Value);
            }

            foreach (var pattern in _custom)
            {
                text = pattern.Replace(text, "[REDACTED]");
            }

            return text;
        }
        catch (RegexMatchTimeoutException)
        {
            // A pattern that cannot finish in time must not leak what it failed to mask.
            return "[REDACTION TIMED OUT]";
        }
    }

    internal static bool PassesLuhn(string candidate)
    {
        var sum = 0;
        var digits = 0;
        var doubleIt = false;
        for (var i = candidate.Length - 1; i >= 0; i--)
        {
            var c = candidate[i];
            if (c is < '0' or > '9')
            {
                continue;
            }

            var d = c - '0';
            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            digits++;
            doubleIt = !doubleIt;
        }

        return digits is >= 13 and <= 19 && sum % 10 == 0;
    }

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", RegexOptions.CultureInvariant, 100)]
    private static partial Regex Email();

    [GeneratedRegex(@"\b\d(?:[ \-]?\d){12,18}\b", RegexOptions.CultureInvariant, 100)]
    private static partial Regex CardCandidate();
}
