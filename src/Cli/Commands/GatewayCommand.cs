using System.CommandLine;
using Tao.Hosting;

namespace Tao.Cli.Commands;

/// <summary>tao gateway: the OpenAI-compatible proxy with capture, until interrupted (the same command line as tao-gateway).</summary>
internal static class GatewayCommand
{
    public static Command Create() => GatewayCommandLine.Configure(new Command("gateway", GatewayCommandLine.Description), "tao gateway");
}
