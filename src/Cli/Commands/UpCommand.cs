using System.CommandLine;

namespace Tao.Cli.Commands;

/// <summary>tao up: the main job on one machine with embedded defaults.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var urls = CommonOptions.Urls();
        var command = new Command("up",
            "Run Tao on this machine with embedded defaults: the gateway with the embedded ClickHouse store in front of the " +
            "upstreams in its configuration (anonymous calls allowed, for local use), until Ctrl+C. " + TaoConfiguration.EnvironmentHelp)
        {
            data, config, urls,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?> { ["Tao:Auth:AllowAnonymous"] = "true" };
            if (result.GetValue(urls) is { } u)
            {
                overrides["Tao:Gateway:Urls"] = u;
            }

            var configuration = TaoConfiguration.Build(result.GetValue(data), result.GetValue(config) ?? [], overrides);
            await using var host = await GatewayHost.StartAsync(configuration, cancellationToken);
            Console.WriteLine($"Tao gateway: {string.Join(", ", host.Addresses)} (OpenAI base URL: {host.Addresses[0]}/v1)");
            Console.WriteLine($"Store: embedded ClickHouse in {host.Store.Options.EmbeddedPath}");
            await GatewayCommand.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}
