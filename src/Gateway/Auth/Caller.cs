namespace Tao.Gateway.Auth;

/// <summary>Who is calling, once authenticated: the key (null for anonymous calls).</summary>
internal sealed record Caller(ApiKey? Key)
{
    public static readonly Caller Anonymous = new((ApiKey?)null);

    public string KeyId => Key?.Id ?? string.Empty;
}
