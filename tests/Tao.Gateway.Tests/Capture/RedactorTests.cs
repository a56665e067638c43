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

    // One of each secret format the default set knows, inside ordinary prose: the cheap search that decides whether an
    // expression runs at all must let every one of them through.
    [Theory]
    [InlineData("key sk-abcdefghijklmnopqrstuvwxyz0123 here")]
    [InlineData("key sk-proj-abcdefghijklmnopqrstuvwxyz0123 here")]
    [InlineData("key sk-ant-api03-abcdefghijklmnopqrstuvwxyz here")]
    [InlineData("aws AKIAIOSFODNN7EXAMPLE here")]
    [InlineData("aws ASIAIOSFODNN7EXAMPLE here")]
    [InlineData("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 here")]
    [InlineData("gh gho_abcdefghijklmnopqrstuvwxyz0123456789 here")]
    [InlineData("gh ghs_abcdefghijklmnopqrstuvwxyz0123456789 here")]
    [InlineData("gh github_pat_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH here")]
    [InlineData("slack xoxb-1234567890-abcdefghij here")]
    [InlineData("google AIzaSyA1234567890abcdefghijklmnopqrstuv here")]
    [InlineData("stripe sk_live_abcdefghijklmnop1234 here")]
    [InlineData("stripe rk_live_abcdefghijklmnop1234 here")]
    [InlineData("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U here")]
    [InlineData("header Authorization: Bearer abcdefghijklmnop0123456789 here")]
    [InlineData("header authorization: bearer abcdefghijklmnop0123456789 here")]
    [InlineData("pem -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY----- here")]
    public void EverySecretFormat_IsMasked(string text)
    {
        var masked = Build().Apply(null, text);

        Assert.Contains("[SECRET]", masked, StringComparison.Ordinal);
        Assert.EndsWith(" here", masked, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("card 4111 1111 1111 1111 here", "card [CARD] here")]
    [InlineData("card 4111-1111-1111-1111 here", "card [CARD] here")]
    [InlineData("card 4111111111111111 here", "card [CARD] here")]
    [InlineData("mail ana@example.com here", "mail [EMAIL] here")]
    [InlineData("not a card 4111 1111 1111 1112 here", "not a card 4111 1111 1111 1112 here")] // fails the Luhn check
    [InlineData("twelve digits 1234 5678 9012 here", "twelve digits 1234 5678 9012 here")]
    [InlineData("a task-free risk-taking answer, ask-me-anything", "a task-free risk-taking answer, ask-me-anything")]
    [InlineData("bearer of bad news", "bearer of bad news")]
    public void CardsAndAddresses_AreMasked_AndOrdinaryTextIsLeftAlone(string text, string expected) =>
        Assert.Equal(expected, Build().Apply(null, text));

    [Theory]
    [InlineData("", 1, false)]
    [InlineData("a1b2c3", 3, true)]
    [InlineData("a1b2c3", 4, false)]
    [InlineData("4111 1111 1111 1", 13, true)]
    public void HasDigits_CountsDigitsAnywhere(string text, int count, bool expected) =>
        Assert.Equal(expected, Redactor.HasDigits(text, count));

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
