using System.Buffers;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Tao.Gateway.Capture;

/// <summary>Masks configured patterns in text before it reaches a capture record.</summary>
internal sealed partial class Redactor
{
    // The built-in patterns run on .NET's non-backtracking engine: linear in the text, so they need no timeout (a 100 ms
    // one fired under a GC pause or a busy CPU and replaced a harmless prompt with the timeout marker). A configured
    // pattern runs on it too when it can (no backreferences or lookarounds); otherwise on the backtracking engine with a
    // timeout that only catastrophic backtracking reaches.
    private static readonly TimeSpan s_customTimeout = TimeSpan.FromSeconds(2);

    // What each built-in expression cannot match without, found by a vectorised search before the expression runs: every
    // string of every captured call passes through here, and nearly none holds a secret, a card or an address. Keep
    // these in step with the expressions below (the redactor's tests cover each key format).
    private static readonly SearchValues<string> s_keyPrefixes = SearchValues.Create(
        ["sk-", "sk_live_", "rk_live_", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "AIza", "eyJ"],
        StringComparison.Ordinal);

    private const int CardDigitsAtLeast = 13;
    private readonly bool _secrets;
    private readonly bool _emails;
    private readonly bool _cards;
    private readonly Regex[] _custom;

    public Redactor(IOptions<CaptureOptions> options)
    {
        var redaction = options.Value.Redaction;
        _secrets = redaction.Secrets;
        _emails = redaction.Emails;
        _cards = redaction.CardNumbers;
        _custom = redaction.Patterns.Select(Custom).ToArray();
        Enabled = redaction.Any;
    }

    public bool Enabled { get; }

    private static Regex Custom(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        }
        catch (NotSupportedException)
        {
            return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, s_customTimeout);
        }
    }

    /// <summary>
    /// Masks the configured patterns. <paramref name="keyChoice"/> is the calling key's own choice: false captures its
    /// text as sent, true applies the default set even where the configuration turned it off.
    /// </summary>
    public string Apply(bool? keyChoice, string text)
    {
        if (keyChoice == false || text.Length == 0)
        {
            return text;
        }

        if (keyChoice == true && !Enabled)
        {
            return ApplyDefaults(text);
        }

        if (!Enabled)
        {
            return text;
        }

        try
        {
            if (_secrets)
            {
                text = MaskSecrets(text);
            }

            if (_emails && text.Contains('@'))
            {
                text = Email().Replace(text, "[EMAIL]");
            }

            if (_cards)
            {
                text = MaskCards(text);
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

    private static string ApplyDefaults(string text)
    {
        try
        {
            return MaskCards(MaskSecrets(text));
        }
        catch (RegexMatchTimeoutException)
        {
            return "[REDACTION TIMED OUT]";
        }
    }

    private static string MaskSecrets(string text)
    {
        // Cheap guards first: most prompts contain none of the markers, and then no expression runs.
        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            text = PrivateKey().Replace(text, "[SECRET]");
        }

        if (text.Contains("earer", StringComparison.Ordinal))
        {
            text = Bearer().Replace(text, "$1[SECRET]");
        }

        return text.AsSpan().ContainsAny(s_keyPrefixes) ? ApiKeyLike().Replace(text, "[SECRET]") : text;
    }

    private static string MaskCards(string text) =>
        HasDigits(text, CardDigitsAtLeast) ? CardCandidate().Replace(text, m => PassesLuhn(m.Value) ? "[CARD]" : m.Value) : text;

    /// <summary>Whether the text has at least <paramref name="count"/> ASCII digits, wherever they are.</summary>
    internal static bool HasDigits(ReadOnlySpan<char> text, int count)
    {
        for (var found = 0; ; found++)
        {
            if (found == count)
            {
                return true;
            }

            var next = text.IndexOfAnyInRange('0', '9');
            if (next < 0)
            {
                return false;
            }

            text = text[(next + 1)..];
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

    [GeneratedRegex(@"-----BEGIN[A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z ]*PRIVATE KEY-----|\z)", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant)]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"(\b[Bb]earer\s+)[A-Za-z0-9\-._~+/]{16,}=*", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant)]
    private static partial Regex Bearer();

    /// <summary>Key formats with a recognisable prefix; a bare random string is left alone (it could be anything).</summary>
    [GeneratedRegex(
        @"\b(?:sk-(?:proj-|ant-|tao-)?[A-Za-z0-9_\-]{20,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}" +
        @"|xox[abpors]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35}|(?:sk|rk)_live_[0-9A-Za-z]{16,}|eyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})",
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant)]
    private static partial Regex ApiKeyLike();

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    [GeneratedRegex(@"\b\d(?:[ \-]?\d){12,18}\b", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant)]
    private static partial Regex CardCandidate();
}
