using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tao.Cli.Benchmarks;

/// <summary>
/// A program the benchmark runs beside itself (this CLI in another role, nginx): its own process, so the load
/// generator, the proxy and the upstream do not share a runtime. Output goes to a log file.
/// </summary>
internal sealed partial class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ChildProcess(Process process, string log)
    {
        _process = process;
        Log = log;
    }

    public string Log { get; }

    public int Id => _process.Id;

    /// <summary>Starts this CLI again with other arguments (apphost or "dotnet tao.dll").</summary>
    public static ChildProcess StartTao(string log, IDictionary<string, string>? environment, params string[] arguments)
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var prefix = Path.GetFileNameWithoutExtension(host) == "dotnet" ? new[] { typeof(ChildProcess).Assembly.Location } : [];
        return Start(host, [.. prefix, .. arguments], log, environment);
    }

    public static ChildProcess Start(string program, IEnumerable<string> arguments, string log, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {program}");
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.Exited += (_, _) => { lock (writer) { writer.Dispose(); } };
        process.EnableRaisingEvents = true;
        return new ChildProcess(process, log);
    }

    /// <summary>Waits until the URL answers with a success status, asking every <paramref name="poll"/> (default 200 ms).</summary>
    public async Task WaitForHttpAsync(Uri url, TimeSpan timeout, TimeSpan? poll = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"process exited with {_process.ExitCode}; see {Log}");
            }

            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(200));
        }

        throw new TimeoutException($"{url} did not answer within {timeout}; see {Log}");
    }

    /// <summary>CPU time used so far, in seconds.</summary>
    public double CpuSeconds
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime.TotalSeconds;
        }
    }

    /// <summary>Resident memory now, in bytes.</summary>
    public long ResidentBytes
    {
        get
        {
            _process.Refresh();
            return _process.WorkingSet64;
        }
    }

    /// <summary>
    /// Resident memory that is the process's own (heaps, stacks, anonymous mappings), in bytes: RSS less the pages of
    /// mapped files (code of the runtime and of native libraries, shared with the page cache and dropped under pressure).
    /// </summary>
    public long AnonymousResidentBytes
    {
        get
        {
            try
            {
                var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("RssAnon:", StringComparison.Ordinal));
                return line is null ? 0 : long.Parse(line["RssAnon:".Length..].Trim().Split(' ')[0]) * 1024;
            }
            catch (IOException)
            {
                return 0;
            }
        }
    }

    /// <summary>kill -9: the process gets no chance to flush or clean up.</summary>
    public void Crash()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, then a kill if it has not exited after the grace period.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_process.HasExited)
        {
            return;
        }

        _ = kill(_process.Id, 15);
        using var timeout = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(15));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process.Dispose();
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);
}
