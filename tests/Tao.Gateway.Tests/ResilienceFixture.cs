using System.Net;
using System.Net.Sockets;
using Tao.Bench;

namespace Tao.Gateway.Tests;

/// <summary>
/// Upstreams that fail in each way a real one does, with retry and fallback policies in front of them; the base
/// fixture's upstream ("fake") serves the fallback model "backup-model", and Anthropic's fake "claude-model".
/// </summary>
public sealed class ResilienceFixture : SurfacesFixture
{
    public FakeUpstream Primary { get; private set; } = null!;

    /// <summary>Refuses connections while down: in front of <see cref="Primary"/> for "toggled-model".</summary>
    public TcpToggleProxy Toggle { get; private set; } = null!;

    /// <summary>Another in front of <see cref="Primary"/>, for "ejected-model" (its own destination, its own health).</summary>
    public TcpToggleProxy EjectionToggle { get; private set; } = null!;

    /// <summary>Answers every call 503: "overloaded-model" (retries then falls back), "exhausted-model" (retries, no fallback).</summary>
    public FakeUpstream Overloaded { get; private set; } = null!;

    /// <summary>Answers its first call 503 with Retry-After: 1, then normally: "flaky-model".</summary>
    public FakeUpstream Flaky { get; private set; } = null!;

    /// <summary>Sends its streamed answers' headers and then drops the connection before any data: "cut-early-model".</summary>
    public FakeUpstream Cutting { get; private set; } = null!;

    /// <summary>Accepts connections and never answers: "stalling-model" (its cluster times out after 1 s).</summary>
    public StallingUpstream Stalling { get; private set; } = null!;

    /// <summary>Anthropic's overloaded answer (529) to every call: "claude-overloaded".</summary>
    public FakeAnthropicUpstream ClaudeOverloaded { get; private set; } = null!;

    protected override async Task ConfigureAsync(Dictionary<string, string?> settings)
    {
        await base.ConfigureAsync(settings);
        Primary = await FakeUpstream.StartAsync(record: true);
        var primary = new IPEndPoint(IPAddress.Loopback, Primary.Address.Port);
        Toggle = new TcpToggleProxy(FreePort(), primary);
        EjectionToggle = new TcpToggleProxy(FreePort(), primary);
        Overloaded = await FakeUpstream.StartAsync(record: true);
        Overloaded.FailWith = 503;
        Flaky = await FakeUpstream.StartAsync(record: true);
        Flaky.FailWith = 503;
        Flaky.FailFirst = 1;
        Flaky.RetryAfter = "1";
        Stalling = new StallingUpstream();
        Cutting = await FakeUpstream.StartAsync();
        Cutting.CutStreamsAfter = 0;
        ClaudeOverloaded = await FakeAnthropicUpstream.StartAsync(record: true);
        ClaudeOverloaded.FailWith = 529;

        Cluster(settings, "toggle", $"http://127.0.0.1:{Toggle.Port}/");
        Cluster(settings, "toggle-ejection", $"http://127.0.0.1:{EjectionToggle.Port}/");
        Cluster(settings, "overloaded", Overloaded.Address.ToString());
        Cluster(settings, "flaky", Flaky.Address.ToString());
        Cluster(settings, "stalling", Stalling.Address.ToString());
        Cluster(settings, "cutting", Cutting.Address.ToString());
        settings["ReverseProxy:Clusters:stalling:HttpRequest:ActivityTimeout"] = "00:00:01";
        Cluster(settings, "claude-overloaded", ClaudeOverloaded.Address.ToString());

        Model(settings, "backup-model", "fake", "upstream-backup");
        Model(settings, "toggled-model", "toggle", "upstream-primary");
        Model(settings, "ejected-model", "toggle-ejection", "upstream-primary");
        Model(settings, "ejected-alone", "toggle-ejection", "upstream-primary"); // no policy: nothing else could answer
        Model(settings, "overloaded-model", "overloaded", "upstream-overloaded");
        Model(settings, "exhausted-model", "overloaded", "upstream-overloaded");
        Model(settings, "flaky-model", "flaky", "upstream-flaky");
        Model(settings, "stalling-model", "stalling", "upstream-stalling");
        Model(settings, "cut-model", "fake", "upstream-cut");
        Model(settings, "cut-early-model", "cutting", "upstream-cut-early");
        Model(settings, "claude-overloaded", "claude-overloaded", "claude-upstream");
        settings["Tao:Models:claude-overloaded:Api"] = "anthropic";
        settings["Tao:Aliases:resilient-bot"] = "overloaded-model";

        Policy(settings, "toggled-model", retries: 1, "backup-model");
        Policy(settings, "ejected-model", retries: 0, "backup-model");
        Policy(settings, "resilient-bot", retries: 0, "backup-model"); // by alias: calls to overloaded-model directly have their own
        Policy(settings, "overloaded-model", retries: 1, "backup-model");
        Policy(settings, "exhausted-model", retries: 1);
        Policy(settings, "flaky-model", retries: 2);
        Policy(settings, "stalling-model", retries: 0, "backup-model");
        Policy(settings, "cut-model", retries: 1, "backup-model");
        Policy(settings, "cut-early-model", retries: 0, "backup-model");
        Policy(settings, "claude-overloaded", retries: 0, "no-such-model", "backup-model", "claude-model");
    }

    private static void Cluster(Dictionary<string, string?> settings, string id, string address) =>
        settings[$"ReverseProxy:Clusters:{id}:Destinations:d1:Address"] = address;

    private static void Model(Dictionary<string, string?> settings, string name, string cluster, string upstreamModel)
    {
        settings[$"Tao:Models:{name}:Cluster"] = cluster;
        settings[$"Tao:Models:{name}:UpstreamModel"] = upstreamModel;
        settings[$"Tao:Models:{name}:Version"] = name + "-v1";
    }

    private static void Policy(Dictionary<string, string?> settings, string name, int retries, params string[] fallbacks)
    {
        settings[$"Tao:Resilience:{name}:Retries"] = retries.ToString();
        settings[$"Tao:Resilience:{name}:BackoffMs"] = "10";
        for (var i = 0; i < fallbacks.Length; i++)
        {
            settings[$"Tao:Resilience:{name}:Fallbacks:{i}"] = fallbacks[i];
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Toggle.DisposeAsync();
        await EjectionToggle.DisposeAsync();
        await Primary.DisposeAsync();
        await Overloaded.DisposeAsync();
        await Flaky.DisposeAsync();
        await Stalling.DisposeAsync();
        await Cutting.DisposeAsync();
        await ClaudeOverloaded.DisposeAsync();
    }
}
