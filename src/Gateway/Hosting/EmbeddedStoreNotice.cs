using Tao.Storage;

namespace Tao.Gateway.Hosting;

/// <summary>
/// What a command prints when it serves the embedded store over ClickHouse's HTTP interface: where, and who may connect.
/// Generated passwords are shown the one time they are made; afterwards the notice names the file that keeps them.
/// </summary>
public static class EmbeddedStoreNotice
{
    public static IEnumerable<string> Lines(ClickHouseStore store)
    {
        if (store.EmbeddedHttpEndpoint is not { } endpoint || store.EmbeddedHttpCredentials is not { } credentials)
        {
            yield break;
        }

        var (admin, reader) = (credentials.Admin, credentials.Reader);
        yield return $"store answers ClickHouse HTTP clients on {endpoint} (database {store.Database}): user {admin.Name}, read-only user {reader.Name}";
        foreach (var user in credentials.Generated)
        {
            yield return $"  generated password of {user.Name}: {user.Password} (shown once; kept in {credentials.File}, readable by you alone)";
        }

        if (credentials.Generated.Count == 0)
        {
            yield return credentials.File is { } file
                ? $"  passwords in {file}"
                : "  passwords as configured (Tao:ClickHouse:EmbeddedHttpPassword, EmbeddedHttpReaderPassword)";
        }

        yield return $"  e.g. curl -u {reader.Name}:PASSWORD {endpoint} --data 'SELECT count() FROM {store.Database}.captures'";
    }
}
