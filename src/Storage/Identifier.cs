using System.Text.RegularExpressions;

namespace Tao.Storage;

/// <summary>SQL identifiers that come from configuration are checked, never quoted around user input.</summary>
public static partial class Identifier
{
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    [GeneratedRegex(@"\A[A-Za-z_][A-Za-z0-9_]{0,63}\z")]
    private static partial Regex Pattern();
}
