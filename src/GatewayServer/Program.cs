using System.CommandLine;
using Tao.Gateway.Hosting;
using Tao.Hosting;

// tao-gateway: what `tao gateway` runs, as an executable of its own that Native AOT compiles ahead of time — no JIT, no
// runtime files to map, the CLI's trainer and benchmarks left out — for the gateway's containers (deploy/).
var data = CommonOptions.Data();
var config = CommonOptions.Config();
var urls = CommonOptions.Urls();
var command = new RootCommand(
    "Tao's gateway: OpenAI-compatible reverse proxy (YARP) that routes by model, captures every call into the spool, and ships " +
    "captures to ClickHouse (embedded by default) and Kafka (when configured). Runs until Ctrl+C or SIGTERM; the same as " +
    "`tao gateway`, compiled ahead of time. " + TaoConfiguration.EnvironmentHelp)
{
    data, config, urls,
};
command.SetAction((result, cancellationToken) => GatewayHost.RunAsync(
    TaoConfiguration.ForGateway(result.GetValue(data), result.GetValue(config) ?? [], result.GetValue(urls)), "tao-gateway", cancellationToken));
return await command.Parse(args).InvokeAsync();
