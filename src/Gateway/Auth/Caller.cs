namespace Tao.Gateway.Auth;

/// <summary>Who is calling, once authenticated: the key's id and its task tag (empty for anonymous calls).</summary>
internal sealed record Caller(string KeyId, string? Task)
{
    public static readonly Caller Anonymous = new(string.Empty, null);
}
