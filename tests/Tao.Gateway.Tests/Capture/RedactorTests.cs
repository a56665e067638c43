using Microsoft.Extensions.Options;
using Tao.Gateway.Capture;

namespace Tao.Gateway.Tests.Capture;

/// <summary>The redactor on texts that make a backtracking engine slow: it masks, it never gives up on a harmless text.</summary>
public sealed class RedactorTests
{
    private static Redactor Build(params string[] patterns) => new(Options.Create(new CaptureOptions
    {
        Redaction = new RedactionOptions { Emails = true, CardNumbers = true, Patterns = [.. patterns] },
    }));

    [Fact]
    public void LongTextsThatDefeatBacktracking_AreMaskedInFull()
    {
        // Emails: a long run of local-part characters without an @; cards: long digit runs with separators.
        var text = new string('a', 200_000) + " reach me at ana@example.com " + string.Concat(Enumerable.Repeat("1 2-", 50_000)) + " 4111 1111 1111 1111";

        var masked = Build().Apply(null, text);

        Assert.DoesNotContain("TIMED OUT", masked, StringComparison.Ordinal);
        Assert.Contains("[EMAIL]", masked, StringComparison.Ordinal);
        Assert.EndsWith("[CARD]", masked, StringComparison.Ordinal);
    }

    [Fact]
    public void ACatastrophicCustomPattern_RunsInLinearTime_AndAnUnsupportedOneStillMasks()
    {
        // (a+)+b takes exponential time on a backtracking engine for "aaa…c"; the non-backtracking engine answers at once.
        var text = new string('a', 5_000) + "c and ticket T-1234";

        var masked = Build(@"(a+)+b", @"T-(?=\d{4})\d{4}").Apply(null, text); // the second has a lookahead: backtracking engine

        Assert.StartsWith(new string('a', 5_000), masked, StringComparison.Ordinal);
        Assert.EndsWith("ticket [REDACTED]", masked, StringComparison.Ordinal);
    }
}
