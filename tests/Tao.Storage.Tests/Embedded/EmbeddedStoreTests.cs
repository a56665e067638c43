using ClickHouse.Driver;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Tao.Storage.Embedded;

namespace Tao.Storage.Tests.Embedded;

/// <summary>ClickHouse.Driver against the embedded engine through the in-process HTTP handler: one code path.</summary>
public sealed class EmbeddedStoreTests : IAsyncLifetime
{
    private ClickHouseStore _store = null!;
    private string _db = null!;

    public async Task InitializeAsync()
    {
        _db = TestEngine.NewDatabase("st");
        _store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = _db });
        await _store.Client.ExecuteNonQueryAsync($"CREATE DATABASE {_db}");
        await _store.Client.ExecuteNonQueryAsync(
            $"CREATE TABLE {_db}.events (id UInt64, name LowCardinality(String), at DateTime64(3, 'UTC'), score Nullable(Float64)) ENGINE = MergeTree PARTITION BY toYYYYMM(at) ORDER BY id");
    }

    public async Task DisposeAsync() => await _store.DisposeAsync();

    [Fact]
    public async Task EngineWork_AndItsContinuations_RunOnTheEngineThreads_NotTheThreadPool()
    {
        // Engine calls block for as long as chDB works; on pool threads they starved the proxy of workers.
        var (before, after, name) = await _store.Engine!.Threads.Run(async () =>
        {
            var first = Thread.CurrentThread.IsThreadPoolThread;
            await Task.Delay(20).ConfigureAwait(true);
            return (first, Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name);
        }, CancellationToken.None);

        Assert.False(before);
        Assert.False(after);
        Assert.Equal("chdb-call", name);
        Assert.Equal(1L, await _store.Client.ExecuteScalarAsync("SELECT 1") is var one ? Convert.ToInt64(one) : 0);
    }

    [Fact]
    public async Task OnlyChdbsOwnThreads_RunAtTheEnginesLowerPriority_NeverAThreadTheRuntimeStartsFromEngineWork()
    {
        // Linux threads inherit their starter's nice value, and the .NET pool starts workers from whichever thread
        // queues work: an engine thread left niced once put the whole pool (and so the proxy) at the engine's priority.
        var normal = NiceOf("thread-self");
        var (engineThread, startedFromIt) = await _store.Engine!.Threads.Run(() =>
        {
            var started = -1;
            var thread = new Thread(() => started = NiceOf("thread-self"));
            thread.Start();
            thread.Join();
            return Task.FromResult((NiceOf("thread-self"), started));
        }, CancellationToken.None);
        await _store.Client.ExecuteNonQueryAsync($"INSERT INTO {_db}.events SELECT number, 'x', now64(3), NULL FROM numbers(1000)");
        // Settings no idle connection has: connections are opened for them, and those beyond the idle limit closed.
        var fresh = new QueryOptions { CustomSettings = new Dictionary<string, object> { ["max_threads"] = 3 } };
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => _store.Client.ExecuteScalarAsync($"SELECT sum(number) FROM numbers({i + 100_000})", options: fresh)));

        Assert.Equal(normal, engineThread);
        Assert.Equal(normal, startedFromIt);
        var threads = Directory.GetDirectories("/proc/self/task").Select(ThreadOf).OfType<(string Name, int Nice)>().ToList();
        // (Threads chDB starts from an engine thread inherit its name too, so "chdb-call" alone says nothing.)
        Assert.All(threads.Where(t => t.Name.StartsWith(".NET ", StringComparison.Ordinal)), t => Assert.Equal(normal, t.Nice));
        // The pools chDB starts when the engine boots (schedule, merge and fetch pools) carry the lower priority.
        var engine = threads.Where(t => t.Name is "BgSchPool" or "BgStrmSchPool" or "MergeMutate" or "Fetch" or "Move").ToList();
        Assert.NotEmpty(engine);
        var expected = _store.Engine.PriorityRefused is null ? Math.Min(normal + new ClickHouseOptions().EmbeddedNice, 19) : normal;
        Assert.All(engine, t => Assert.Equal(expected, t.Nice));
    }

    /// <summary>Name and nice value of a thread of this process, or null when it ended after the listing (other tests start and stop servers).</summary>
    private static (string Name, int Nice)? ThreadOf(string task)
    {
        try
        {
            return (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'), NiceOf(task));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The nice value of a thread, from /proc/self/task/&lt;tid&gt;/stat (or "thread-self").</summary>
    private static int NiceOf(string thread)
    {
        var stat = File.ReadAllText(Path.Combine(thread.StartsWith('/') ? thread : Path.Combine("/proc", thread), "stat"));
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields from the 3rd (state) on
        return int.Parse(fields[19 - 3], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task TheSamplingQueryProfiler_IsOff_OnEveryConnection()
    {
        // Its timer signal can interrupt malloc on an engine thread and deadlock the process (see ChdbEngine).
        var real = await _store.Client.ExecuteScalarAsync("SELECT getSetting('query_profiler_real_time_period_ns')");
        var cpu = await _store.Client.ExecuteScalarAsync("SELECT getSetting('query_profiler_cpu_time_period_ns')");

        var engineDefault = await _store.Client.ExecuteScalarAsync("SELECT default FROM system.settings WHERE name = 'query_profiler_real_time_period_ns'");

        Assert.Equal(0UL, Convert.ToUInt64(real));
        Assert.Equal(0UL, Convert.ToUInt64(cpu));
        Assert.NotEqual("0", Convert.ToString(engineDefault)); // on unless turned off
    }

    [Fact]
    public async Task InsertBinary_LargeBatch_StreamsIntoTheEngineAndReadsBackWithParameters()
    {
        var at = new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc);
        var rows = Enumerable.Range(0, 50_000).Select(i => new object[] { (ulong)i, "n" + (i % 7), at, i % 2 == 0 ? (object)(i * 0.5) : DBNull.Value });

        var inserted = await _store.Client.InsertBinaryAsync($"{_db}.events", ["id", "name", "at", "score"], rows);

        Assert.Equal(50_000, inserted);
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("below", 1000UL);
        parameters.AddParameter("name", "n3");
        using var reader = await _store.Client.ExecuteReaderAsync(
            $"SELECT count(), sum(id), countIf(score IS NULL) FROM {_db}.events WHERE id < {{below:UInt64}} AND name = {{name:String}}", parameters);
        Assert.True(reader.Read());
        var ids = Enumerable.Range(0, 1000).Where(i => i % 7 == 3).ToList();
        Assert.Equal((ulong)ids.Count, Convert.ToUInt64(reader.GetValue(0)));
        Assert.Equal((ulong)ids.Sum(), Convert.ToUInt64(reader.GetValue(1)));
        Assert.Equal((ulong)ids.Count(i => i % 2 == 1), Convert.ToUInt64(reader.GetValue(2)));
    }

    [Fact]
    public async Task Parameters_AreBoundByTheEngine_NeverSpliced()
    {
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("text", "x' OR 1=1; DROP TABLE events; --");

        var echoed = await _store.Client.ExecuteScalarAsync("SELECT {text:String}", parameters);

        Assert.Equal("x' OR 1=1; DROP TABLE events; --", echoed);
        Assert.Equal(0UL, Convert.ToUInt64(await _store.Client.ExecuteScalarAsync($"SELECT count() FROM {_db}.events WHERE name = {{text:String}}", parameters)));
    }

    [Fact]
    public async Task SyntaxError_SurfacesAsAServerExceptionWithItsCode()
    {
        var error = await Assert.ThrowsAsync<ClickHouseServerException>(() => _store.Client.ExecuteScalarAsync("SELEC 1"));
        Assert.Equal(62, error.ErrorCode);
    }

    [Fact]
    public async Task UnknownTable_SurfacesAsAServerExceptionWithItsCode()
    {
        var error = await Assert.ThrowsAsync<ClickHouseServerException>(() => _store.Client.ExecuteScalarAsync($"SELECT * FROM {_db}.nope"));
        Assert.Equal(60, error.ErrorCode);
    }

    [Fact]
    public async Task ReadOnlyQueryOptions_RefuseWrites()
    {
        var error = await Assert.ThrowsAsync<ClickHouseServerException>(() =>
            _store.Client.ExecuteNonQueryAsync($"INSERT INTO {_db}.events (id, name, at) VALUES (1, 'a', now64())", options: _store.ReadOnlyQuery()));
        Assert.Equal(164, error.ErrorCode);
    }

    [Fact]
    public async Task ConcurrentQueries_RunOnSeparateConnections()
    {
        var queries = Enumerable.Range(0, 32).Select(i => _store.Client.ExecuteScalarAsync($"SELECT sum(number) FROM numbers({10_000 + i})"));

        var results = await Task.WhenAll(queries);

        Assert.Equal(Enumerable.Range(0, 32).Select(i => (ulong)(10_000L + i) * (ulong)(9_999L + i) / 2).ToArray(), results.Select(Convert.ToUInt64).ToArray());
    }

    [Fact]
    public async Task LoopbackEndpoint_AnswersOrdinaryHttpClientsAndTheDriver()
    {
        var credentials = EmbeddedHttpCredentials.Resolve(new ClickHouseOptions { EmbeddedHttpPassword = "admin-password", EmbeddedHttpReaderPassword = "reader-password" });
        await using var server = await EmbeddedClickHouseServer.StartAsync(_store.Engine!, 0, credentials, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = server.Endpoint };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String("tao:admin-password"u8));

        Assert.Equal("Ok.\n", await http.GetStringAsync("/ping"));
        using var get = await http.GetAsync("/?query=SELECT%201%2B1");
        Assert.Equal("2\n", await get.Content.ReadAsStringAsync());
        using var post = await http.PostAsync("/?default_format=JSONEachRow", new StringContent("SELECT 40 + 2 AS answer"));
        Assert.Equal("{\"answer\":42}\n", await post.Content.ReadAsStringAsync());
        using var write = await http.GetAsync($"/?query=CREATE%20TABLE%20{_db}.x%20(a%20UInt8)%20ENGINE%3DMemory");
        Assert.Equal(403, (int)write.StatusCode); // GET is read-only, as on a server

        using var driver = new ClickHouseClient($"Host={server.Endpoint.Host};Port={server.Endpoint.Port};Username=tao;Password=admin-password");
        Assert.Equal(7UL, Convert.ToUInt64(await driver.ExecuteScalarAsync("SELECT 3 + 4")));
    }

    [Fact]
    public void NullReferenceExceptions_AreCaughtNormallyOnceTheEngineRuns()
    {
        // chDB's own signal handlers would turn the first NullReferenceException into a SIGSEGV crash.
        Assert.NotNull(_store.Engine);
        var caught = 0;
        for (var i = 0; i < 1000; i++)
        {
            try
            {
                var nothing = i < 0 ? "never" : null;
                _ = nothing!.Length;
            }
            catch (NullReferenceException)
            {
                caught++;
            }
        }

        var zero = caught - 1000;
        Assert.Throws<DivideByZeroException>(() => 1 / zero);
        Assert.Equal(1000, caught);
    }
}
