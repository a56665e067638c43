using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using ClickHouse.Driver;
using Tao.Storage.Embedded;

namespace Tao.Storage.Tests.Embedded;

/// <summary>
/// The embedded store over ClickHouse's HTTP interface on a real loopback socket: off unless asked for; when on, every
/// query needs a user and password, the reader's queries cannot write, and URLs up to 1 MiB are accepted.
/// </summary>
public sealed class EmbeddedHttpEndpointTests : IAsyncLifetime
{
    private ClickHouseStore _store = null!;
    private string _db = null!;
    private string _folder = null!;
    private EmbeddedHttpCredentials _credentials = null!;
    private HttpClient _anonymous = null!;

    public async Task InitializeAsync()
    {
        _db = TestEngine.NewDatabase("http");
        _folder = TestEngine.NewFolder("http");
        _store = await ClickHouseStore.OpenAsync(new ClickHouseOptions
        {
            EmbeddedPath = TestEngine.EnginePath,
            Database = _db,
            EmbeddedHttpPort = FreePort(),
            EmbeddedHttpCredentialsFile = Path.Combine(_folder, "credentials.json"),
        });
        _credentials = _store.EmbeddedHttpCredentials!;
        _anonymous = new HttpClient { BaseAddress = _store.EmbeddedHttpEndpoint };
        await _store.Client.ExecuteNonQueryAsync($"CREATE DATABASE {_db}");
        await _store.Client.ExecuteNonQueryAsync($"CREATE TABLE {_db}.gateway_state (key String, value String) ENGINE = MergeTree ORDER BY key");
        await _store.Client.ExecuteNonQueryAsync($"INSERT INTO {_db}.gateway_state VALUES ('a', '1'), ('b', '2')");
    }

    public async Task DisposeAsync()
    {
        _anonymous.Dispose();
        await _store.DisposeAsync();
    }

    [Fact]
    public async Task DefaultOptions_ServeNoHttpEndpoint_AndWriteNoCredentials()
    {
        var folder = TestEngine.NewFolder("off");
        await using var store = await ClickHouseStore.OpenAsync(new ClickHouseOptions
        {
            EmbeddedPath = TestEngine.EnginePath,
            EmbeddedHttpCredentialsFile = Path.Combine(folder, "credentials.json"),
        });

        Assert.Equal(0, new ClickHouseOptions().EmbeddedHttpPort);
        Assert.Null(store.EmbeddedHttpEndpoint);
        Assert.Null(store.EmbeddedHttpCredentials);
        Assert.False(File.Exists(Path.Combine(folder, "credentials.json")));
        Assert.Equal(1L, Convert.ToInt64(await store.Client.ExecuteScalarAsync("SELECT 1"))); // the store itself works
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void GeneratedPasswords_AreKeptInAFileOnlyTheOwnerReads_AndReusedOnTheNextStart()
    {
        var file = Path.Combine(_folder, "credentials.json");
        Assert.Equal([_credentials.Admin, _credentials.Reader], _credentials.Generated);
        Assert.Equal(file, _credentials.File);
        Assert.Equal(("tao", false), (_credentials.Admin.Name, _credentials.Admin.ReadOnly));
        Assert.Equal(("reader", true), (_credentials.Reader.Name, _credentials.Reader.ReadOnly));
        Assert.Equal(32, _credentials.Admin.Password.Length);
        Assert.NotEqual(_credentials.Admin.Password, _credentials.Reader.Password);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.DoesNotContain(_credentials.Admin.Password, _credentials.Admin.ToString());

        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var again = EmbeddedHttpCredentials.Resolve(new ClickHouseOptions { EmbeddedHttpCredentialsFile = file });

        Assert.Empty(again.Generated);
        Assert.Equal(_credentials.Admin.Password, again.Admin.Password);
        Assert.Equal(_credentials.Reader.Password, again.Reader.Password);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file)); // widened rights are taken back

        var configured = EmbeddedHttpCredentials.Resolve(new ClickHouseOptions
        {
            EmbeddedHttpPassword = "given-admin", EmbeddedHttpReaderPassword = "given-reader", EmbeddedHttpCredentialsFile = Path.Combine(_folder, "unused.json"),
        });
        Assert.Equal(("given-admin", "given-reader", (string?)null), (configured.Admin.Password, configured.Reader.Password, configured.File));
        Assert.False(File.Exists(Path.Combine(_folder, "unused.json")));

        var half = EmbeddedHttpCredentials.Resolve(new ClickHouseOptions { EmbeddedHttpPassword = "given-admin", EmbeddedHttpCredentialsFile = Path.Combine(_folder, "half.json") });
        Assert.Equal([half.Reader], half.Generated); // a configured password is never shown as generated
    }

    [Fact]
    public async Task AnUnreadableCredentialsFile_StopsTheStoreFromOpening_WithItsName()
    {
        var file = Path.Combine(_folder, "broken.json");
        await File.WriteAllTextAsync(file, "not json");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ClickHouseStore.OpenAsync(new ClickHouseOptions
        {
            EmbeddedPath = TestEngine.EnginePath, EmbeddedHttpPort = FreePort(), EmbeddedHttpCredentialsFile = file,
        }));

        Assert.Contains(file, error.Message);
    }

    [Fact]
    public async Task NoCredentials_Get401WithABasicChallenge_ButPingNeedsNone()
    {
        using var response = await _anonymous.GetAsync("/?query=SELECT%201");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("516", response.Headers.GetValues("X-ClickHouse-Exception-Code").Single());
        Assert.Equal(
            "Code: 516. DB::Exception: default: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)\n",
            await response.Content.ReadAsStringAsync());
        Assert.Equal("Ok.\n", await _anonymous.GetStringAsync("/ping"));
    }

    [Theory]
    [InlineData("tao", "wrong")]
    [InlineData("nobody", null)]
    [InlineData("reader", null)]
    [InlineData("", null)]
    public async Task WrongPasswordOrUser_GetsTheServersAuthenticationFailedAnswer(string user, string? password)
    {
        // null: the admin's real password, sent for another name
        using var request = Post("SELECT count() FROM gateway_state", Basic(user, password ?? _credentials.Admin.Password));
        using var response = await _anonymous.SendAsync(request);

        // A ClickHouse server answers AUTHENTICATION_FAILED with 403 (exceptionCodeToHTTPStatus), not saying which part was wrong.
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("516", response.Headers.GetValues("X-ClickHouse-Exception-Code").Single());
        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("Code: 516. DB::Exception: ", body);
        Assert.EndsWith("(AUTHENTICATION_FAILED)\n", body);
        if (user.Length > 0)
        {
            Assert.Equal($"Code: 516. DB::Exception: {user}: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)\n", body);
        }
    }

    [Fact]
    public async Task TwoWaysOfAuthenticatingInOneRequest_AreRefused_AsOnAServer()
    {
        using var request = Post("SELECT 1", Basic("tao", _credentials.Admin.Password), "user=tao&password=" + _credentials.Admin.Password);
        using var response = await _anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("not allowed to use Authorization HTTP header and authentication via parameters simultaneously", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("headers")]
    [InlineData("url")]
    public async Task Admin_AuthenticatedEachWayClientsUse_ReadsAndWrites(string how)
    {
        var password = _credentials.Admin.Password;
        HttpRequestMessage Request(string sql) => how switch
        {
            "basic" => Post(sql, Basic("tao", password)),
            "headers" => Post(sql, null, headers: [("X-ClickHouse-User", "tao"), ("X-ClickHouse-Key", password)]),
            _ => Post(sql, null, $"user=tao&password={Uri.EscapeDataString(password)}"),
        };

        using (var insert = await _anonymous.SendAsync(Request($"INSERT INTO gateway_state VALUES ('{how}', 'x')")))
        {
            Assert.Equal(HttpStatusCode.OK, insert.StatusCode);
        }

        using var count = await _anonymous.SendAsync(Request($"SELECT count() FROM gateway_state WHERE key = '{how}'"));
        Assert.Equal("1\n", await count.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("INSERT INTO gateway_state VALUES ('r', 'x')", "")]
    [InlineData("INSERT INTO gateway_state FORMAT TSV\nr\tx\n", "")]
    [InlineData("r\tx\n", "query=INSERT%20INTO%20gateway_state%20FORMAT%20TSV")]
    [InlineData("INSERT INTO gateway_state VALUES ('r', 'x')", "readonly=0")]
    [InlineData("INSERT INTO gateway_state SETTINGS readonly=0 VALUES ('r', 'x')", "")]
    [InlineData("SET readonly = 0; INSERT INTO gateway_state VALUES ('r', 'x')", "")]
    [InlineData("ALTER TABLE gateway_state DELETE WHERE 1", "")]
    [InlineData("TRUNCATE TABLE gateway_state", "")]
    [InlineData("DROP TABLE gateway_state", "")]
    [InlineData("CREATE TABLE other (a UInt8) ENGINE = Memory", "")]
    [InlineData("SELECT * FROM file('/etc/hostname', 'LineAsString')", "")]
    public async Task Reader_WritesAndFileAccess_AreRefusedAsReadonly_AndNothingChanges(string body, string parameters)
    {
        using var request = Post(body, Basic("reader", _credentials.Reader.Password), parameters);
        using var response = await _anonymous.SendAsync(request);

        Assert.Equal("164", response.Headers.GetValues("X-ClickHouse-Exception-Code").Single());
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("(READONLY)", await response.Content.ReadAsStringAsync());
        Assert.Equal(2UL, Convert.ToUInt64(await _store.Client.ExecuteScalarAsync($"SELECT count() FROM {_db}.gateway_state WHERE key IN ('a', 'b')")));
        Assert.Equal(0UL, Convert.ToUInt64(await _store.Client.ExecuteScalarAsync($"SELECT count() FROM {_db}.gateway_state WHERE key = 'r'")));
        Assert.Equal(0UL, Convert.ToUInt64(await _store.Client.ExecuteScalarAsync($"SELECT count() FROM system.tables WHERE database = '{_db}' AND name = 'other'")));
    }

    [Fact]
    public async Task Reader_Selects_ShowsAndDescribes()
    {
        var basic = Basic("reader", _credentials.Reader.Password);
        foreach (var (sql, expected) in new[]
        {
            ("SELECT key FROM gateway_state ORDER BY key", "a\nb\n"),
            ("WITH 2 AS two SELECT count() * two FROM gateway_state", "4\n"),
            ("SHOW TABLES", "gateway_state\n"),
            ("DESCRIBE TABLE gateway_state FORMAT TSV", "key\tString\t\t\t\t\t\nvalue\tString\t\t\t\t\t\n"),
            ("EXISTS TABLE gateway_state", "1\n"),
        })
        {
            using var response = await _anonymous.SendAsync(Post(sql, basic, "max_threads=1")); // URL settings still work for the reader
            Assert.Equal((HttpStatusCode.OK, expected), (response.StatusCode, await response.Content.ReadAsStringAsync()));
        }
    }

    [Theory]
    [InlineData("SELECT 1 INTO OUTFILE '{0}'")]
    [InlineData("SELECT 1 INTO /* any comment */ outfile '{0}' FORMAT TSV")]
    public async Task IntoOutfile_IsRefusedForEveryone_ForChdbWouldWriteTheFileFromThisProcess(string sql)
    {
        var target = Path.Combine(_folder, "outfile-" + Guid.NewGuid().ToString("N") + ".tsv");
        foreach (var basic in new[] { Basic("tao", _credentials.Admin.Password), Basic("reader", _credentials.Reader.Password) })
        {
            using var response = await _anonymous.SendAsync(Post(string.Format(System.Globalization.CultureInfo.InvariantCulture, sql, target), basic));
            Assert.Equal("358", response.Headers.GetValues("X-ClickHouse-Exception-Code").Single());
            Assert.Contains("INTO OUTFILE is not allowed", await response.Content.ReadAsStringAsync());
        }

        Assert.False(File.Exists(target));
    }

    [Theory]
    [InlineData("no_such_setting")]
    [InlineData("path")]
    [InlineData("file")]
    public async Task UnknownSettings_AreRefused_NeverPassedToTheEngineAsOptions(string name)
    {
        using var response = await _anonymous.SendAsync(Post("SELECT 1", Basic("tao", _credentials.Admin.Password), $"{name}=/tmp/x"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("115", response.Headers.GetValues("X-ClickHouse-Exception-Code").Single());
    }

    [Theory]
    [InlineData(9 * 1024, 1)]         // what @clickhouse/client sends with a few dozen parameters
    [InlineData(200 * 1024, 200)]
    [InlineData(1024 * 1024 - 4096, 8)]
    public async Task LongUrls_UpTo1MiB_AreAccepted(int urlBytes, int parameters)
    {
        var names = Enumerable.Range(0, parameters).Select(i => $"p{i}").ToList();
        var head = $"/?database={_db}&query=" + Uri.EscapeDataString("SELECT " + string.Join(" + ", names.Select(n => $"length({{{n}:String}})")));
        var each = (urlBytes - head.Length) / parameters - "&param_p000=".Length;
        var url = head + string.Concat(names.Select(n => $"&param_{n}={new string('x', each)}"));
        Assert.InRange(url.Length, urlBytes - 3 * parameters - 16, urlBytes);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = Basic("reader", _credentials.Reader.Password);

        using var response = await _anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"{each * parameters}\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UrlsBeyond1MiB_Get414()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/?query=SELECT%201&param_x=" + new string('x', EmbeddedClickHouseServer.MaxUriBytes));
        request.Headers.Authorization = Basic("reader", _credentials.Reader.Password);

        using var response = await _anonymous.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
    }

    [Fact]
    public async Task TheDriver_WithUserAndPassword_Connects_AndTheReaderCannotWrite()
    {
        var endpoint = _store.EmbeddedHttpEndpoint!;
        using var admin = new ClickHouseClient($"Host={endpoint.Host};Port={endpoint.Port};Username=tao;Password={_credentials.Admin.Password};Database={_db}");
        using var reader = new ClickHouseClient($"Host={endpoint.Host};Port={endpoint.Port};Username=reader;Password={_credentials.Reader.Password};Database={_db}");
        using var stranger = new ClickHouseClient($"Host={endpoint.Host};Port={endpoint.Port};Database={_db}");

        await admin.InsertBinaryAsync("gateway_state", ["key", "value"], [new object[] { "driver", "1" }]);
        Assert.Equal(3UL, Convert.ToUInt64(await reader.ExecuteScalarAsync("SELECT count() FROM gateway_state")));
        var refused = await Assert.ThrowsAsync<ClickHouseServerException>(() => reader.InsertBinaryAsync("gateway_state", ["key", "value"], [new object[] { "r", "1" }]));
        Assert.Equal(164, refused.ErrorCode);
        var unknown = await Assert.ThrowsAsync<ClickHouseServerException>(() => stranger.ExecuteScalarAsync("SELECT 1"));
        Assert.Equal(516, unknown.ErrorCode);
        Assert.Equal(3UL, Convert.ToUInt64(await admin.ExecuteScalarAsync("SELECT count() FROM gateway_state")));
    }

    [Fact]
    public async Task AStoreWithUrl_PointedAtTheEndpoint_AuthenticatesWithUsernameAndPassword()
    {
        // What a gateway with Tao:ClickHouse:Url (and Username/Password) does against `tao store serve`.
        var url = _store.EmbeddedHttpEndpoint!.ToString();
        await using var remote = await ClickHouseStore.OpenAsync(new ClickHouseOptions { Url = url, Database = _db, Username = "tao", Password = _credentials.Admin.Password });
        await using var wrong = await ClickHouseStore.OpenAsync(new ClickHouseOptions { Url = url, Database = _db, Username = "tao", Password = "guess" });

        Assert.Equal(2UL, Convert.ToUInt64(await remote.Client.ExecuteScalarAsync($"SELECT count() FROM {_db}.gateway_state")));
        var error = await Assert.ThrowsAsync<ClickHouseServerException>(() => wrong.Client.ExecuteScalarAsync("SELECT 1"));
        Assert.Equal(516, error.ErrorCode);
    }

    private HttpRequestMessage Post(string sql, AuthenticationHeaderValue? authorization, string parameters = "", (string Name, string Value)[]? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/?database={_db}&{parameters}") { Content = new StringContent(sql, Encoding.UTF8) };
        request.Headers.Authorization = authorization;
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.Add(name, value);
        }

        return request;
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
