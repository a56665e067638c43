using System.Text.RegularExpressions;

namespace Tao.Storage.Embedded;

/// <summary>An error reported by the embedded engine, with ClickHouse's numeric error code when it gave one.</summary>
public sealed partial class ChdbException : Exception
{
    public ChdbException(string message) : base(message)
    {
        var match = CodePattern().Match(message);
        Code = match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>ClickHouse error code (e.g. 60 = UNKNOWN_TABLE, 62 = SYNTAX_ERROR), 0 when unknown.</summary>
    public int Code { get; }

    [GeneratedRegex(@"Code:\s*(\d+)")]
    private static partial Regex CodePattern();
}
