using System.CommandLine;
using Tao.Gateway.Hosting;
using Tao.Hosting;

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
        command.SetAction((result, cancellationToken) => GatewayHost.RunAsync(
            TaoConfiguration.ForGateway(result.GetValue(data), result.GetValue(config) ?? [], result.GetValue(urls)), "tao gateway", cancellationToken));
        return command;
    }
}
