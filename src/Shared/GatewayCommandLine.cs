using System.CommandLine;
using Tao.Gateway.Hosting;

namespace Tao.Hosting;

/// <summary>
/// The gateway's command line, one definition for `tao gateway` and the native `tao-gateway` (compiled into both; see
/// src/Shared): the same options, description and action, so the two cannot drift apart.
/// </summary>
internal static class GatewayCommandLine
{
    public const string Description =
        "Run the gateway: OpenAI-compatible reverse proxy (YARP) that routes by model, captures every call into the spool, " +
        "and ships captures to ClickHouse (embedded by default) and Kafka (when configured). Runs until Ctrl+C or SIGTERM. " +
        TaoConfiguration.EnvironmentHelp;

    /// <summary>Adds the gateway's options to <paramref name="command"/> and makes running the gateway its action.</summary>
    public static T Configure<T>(T command, string program) where T : Command
    {
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var urls = CommonOptions.Urls();
        command.Options.Add(data);
        command.Options.Add(config);
        command.Options.Add(urls);
        command.SetAction((result, cancellationToken) => GatewayHost.RunAsync(
            TaoConfiguration.ForGateway(result.GetValue(data), result.GetValue(config) ?? [], result.GetValue(urls)), program, cancellationToken));
        return command;
    }
}
