using Tao.Gateway.State;

namespace Tao.Gateway.Auth;

/// <summary>Who is calling, once authenticated: the key (null for anonymous calls), or the admin (only on /v1/feedback).</summary>
internal sealed record Caller(ApiKey? Key, bool Admin = false)
{
    public static readonly Caller AdminCaller = new(null, Admin: true);

    public static readonly Caller Anonymous = new((ApiKey?)null);

    public string KeyId => Key?.Id ?? string.Empty;
}
