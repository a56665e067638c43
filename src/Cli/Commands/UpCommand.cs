using System.CommandLine;
using Tao.Cli.Demo;
using Tao.Hosting;

namespace Tao.Cli.Commands;

/// <summary>tao up: the main job on one machine with embedded defaults.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var once = new Option<bool>("--once") { Description = "Stop after the first promotion decision; exit 0 when a tuned version was promoted." };
        var rounds = new Option<int?>("--rounds") { Description = "Stop after this many promotion decisions and print each with its intervals; exit 0 when one was promoted." };
        var seed = new Option<int>("--seed") { Description = "Which traffic the simulated apps send (and the canary sets drawn beside it). Default: 1.", DefaultValueFactory = _ => 1 };
        var noTraffic = new Option<bool>("--no-demo-traffic") { Description = "Do not start the simulated apps: serve only real clients." };
        var reset = new Option<bool>("--reset") { Description = "Start over: delete the data folder (captures, registry, gateway state) first. The built base model is kept." };
        var storePort = new Option<int?>("--store-port")
        {
            Description = "Also serve the embedded store over ClickHouse's HTTP interface on 127.0.0.1 at this port (e.g. 8123), for Grafana or " +
                          "clickhouse-client. Users tao (full rights) and reader (read-only); their passwords are generated, printed once and kept " +
                          "in clickhouse-http-credentials.json in the data folder. Default: not served.",
        };
        var command = new Command("up",
            "Run the whole flywheel on this machine: the project's base model (built on first run and kept) behind a local model server, " +
            "the gateway with the embedded store in front of it, simulated apps sending prompts through the gateway, and the flywheel " +
            "tuning and hot-swapping as inputs accumulate; prints progress, then a before/after table. Reruns continue from the stored state. " +
            "Environment: TAO_DATA_DIR (default ./.tao/data), TAO_ADMIN_KEY (default: generated and printed).")
        {
            data, config, once, rounds, seed, noTraffic, reset, storePort,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var folder = TaoConfiguration.DataDirectory(result.GetValue(data));
            if (result.GetValue(reset) && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            var stopAfter = result.GetValue(rounds) ?? (result.GetValue(once) ? 1 : 0);
            if (result.GetValue(storePort) is < 1 or > 65535)
            {
                Console.Error.WriteLine("--store-port must be between 1 and 65535");
                return 2;
            }

            return await new DemoRun(folder, stopAfter, !result.GetValue(noTraffic), result.GetValue(seed), result.GetValue(config) ?? [], Console.Out)
            {
                StorePort = result.GetValue(storePort),
            }.RunAsync(cancellationToken);
        });
        return command;
    }
}
