using System.CommandLine;

namespace Tao.Cli.Commands;

/// <summary>tao gateway: the OpenAI-compatible proxy with capture, until interrupted.</summary>
internal static class GatewayCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var urls = CommonOptions.Urls();
        var command = new Command("gateway",
            "Run the gateway: OpenAI-compatible reverse proxy (YARP) that routes by model, captures every call into the spool, " +
            "and ships captures to ClickHouse (embedded by default) and Kafka (when configured). Runs until Ctrl+C. " +
            TaoConfiguration.EnvironmentHelp)
        {
            data, config, urls,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (result.GetValue(urls) is { } u)
            {
                overrides["Tao:Gateway:Urls"] = u;
            }

            var configuration = TaoConfiguration.Build(result.GetValue(data), result.GetValue(config) ?? [], overrides);
            GatewayHost started;
            try
            {
                started = await GatewayHost.StartAsync(configuration, cancellationToken);
            }
            catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                Console.Error.WriteLine($"tao gateway: {e.Message} Another process listens there; choose other addresses with --urls.");
                return 2;
            }

            await using var host = started;
            Console.WriteLine($"gateway listening on {string.Join(", ", host.Addresses)}");
            Console.WriteLine(host.Store.IsEmbedded ? $"store: embedded ClickHouse in {host.Store.Options.EmbeddedPath}" : $"store: {host.Store.Options.Url}");
            foreach (var line in EmbeddedStoreNotice.Lines(host.Store))
            {
                Console.WriteLine(line);
            }

            await WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Waits for Ctrl+C or SIGTERM (or the command's cancellation). ASP.NET Core's console lifetime takes SIGTERM to
    /// stop its host and keeps the process alive for Main to finish, so the command must hear the signal itself too,
    /// or a service manager's stop would leave the process running until it is killed.
    /// </summary>
    public static async Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(System.Runtime.InteropServices.PosixSignalContext context)
        {
            context.Cancel = true; // shut down in order (drain, flush the spool) instead of exiting on the spot
            stop.TrySetResult();
        }

        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnSignal);
        using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnSignal);
        using var registration = cancellationToken.Register(() => stop.TrySetResult());
        await stop.Task;
    }
}
