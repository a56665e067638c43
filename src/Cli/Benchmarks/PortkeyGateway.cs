using System.Diagnostics;

namespace Tao.Cli.Benchmarks;

/// <summary>
/// A peer in the gateway benchmark: Portkey's open-source AI gateway (npm <c>@portkey-ai/gateway</c>), installed
/// under .tao/peers on first use and run headless with Node, in front of the same upstream. It is told where the
/// upstream is per request (x-portkey-provider: openai, x-portkey-custom-host), and logs nothing in this mode, so its
/// row compares with Tao's capture-off row and, for what a captured call costs, with the capture rows.
/// </summary>
internal static class PortkeyGateway
{
    public const string Name = "Portkey gateway 1.15.2 (npm, no logging)";
    private const string Package = "@portkey-ai/gateway@1.15.2";

    private static string Folder => Path.GetFullPath(Path.Combine(".tao", "peers", "portkey"));

    private static string Script => Path.Combine(Folder, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");

    /// <summary>Installs the package when missing (npm must be on PATH); null, with the reason, when it cannot run here.</summary>
    public static async Task<string?> EnsureInstalledAsync(TextWriter output, CancellationToken cancellationToken)
    {
        if (File.Exists(Script))
        {
            return null;
        }

        if (Which("node") is null || Which("npm") is null)
        {
            return "node and npm are not installed (apt-get install nodejs npm)";
        }

        output.WriteLine($"  installing {Package} from npm into {Folder} ...");
        Directory.CreateDirectory(Folder);
        var info = new ProcessStartInfo("npm") { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", Folder, Package })
        {
            info.ArgumentList.Add(argument);
        }

        using var npm = Process.Start(info)!;
        var errors = npm.StandardError.ReadToEndAsync(cancellationToken);
        await npm.StandardOutput.ReadToEndAsync(cancellationToken);
        await npm.WaitForExitAsync(cancellationToken);
        return npm.ExitCode == 0 && File.Exists(Script) ? null : $"npm install {Package} failed: {(await errors).Trim()}";
    }

    public static async Task<ChildProcess> StartAsync(string folder, int port)
    {
        Directory.CreateDirectory(folder);
        var process = ChildProcess.Start(Which("node")!, [Script, $"--port={port}", "--headless"], Path.Combine(folder, "portkey.log"));
        await process.WaitForHttpAsync(new Uri($"http://127.0.0.1:{port}/"), TimeSpan.FromSeconds(60));
        return process;
    }

    /// <summary>The headers that route a call through Portkey to an OpenAI-compatible upstream at <paramref name="upstream"/>.</summary>
    public static Dictionary<string, string> Headers(Uri upstream) => new()
    {
        ["x-portkey-provider"] = "openai",
        ["x-portkey-custom-host"] = new Uri(upstream, "/v1").ToString(),
        // The fake upstream's steering headers (answer length) reach it only when Portkey is told to forward them.
        ["x-portkey-forward-headers"] = "x-fake-words",
    };

    private static string? Which(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Select(directory => Path.Combine(directory, program)).FirstOrDefault(File.Exists);
}
