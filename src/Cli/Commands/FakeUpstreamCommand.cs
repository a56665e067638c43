using System.CommandLine;
using Tao.Bench;
using Tao.Gateway.Hosting;

namespace Tao.Cli.Commands;

/// <summary>tao fake-upstream: a fast fixed-answer OpenAI-compatible server, for benchmarks and trying the gateway.</summary>
internal static class FakeUpstreamCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1. Default: 8000.", DefaultValueFactory = _ => 8000 };
        var command = new Command("fake-upstream",
            "Serve fixed OpenAI-shaped answers (chat, completions, embeddings, the Responses API; plain and streamed) on 127.0.0.1, as fast as possible. " +
            "Headers steer it: x-fake-words, x-fake-no-usage, x-fake-status, x-fake-retry-after, x-fake-delay-ms, x-fake-chunk-delay-ms, x-fake-cut-after, x-fake-tool-call.")
        {
            port,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            await using var upstream = await FakeUpstream.StartAsync(result.GetValue(port));
            Console.WriteLine($"fake upstream listening on {upstream.Address}");
            await GatewayHost.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
