using System.CommandLine;
using Tao.Cli.Demo;

namespace Tao.Cli.Commands;

/// <summary>tao up: the main job on one machine with embedded defaults.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var once = new Option<bool>("--once") { Description = "Stop after the first promotion decision; exit 0 when a tuned version was promoted." };
        var noTraffic = new Option<bool>("--no-demo-traffic") { Description = "Do not start the simulated apps: serve only real clients." };
        var reset = new Option<bool>("--reset") { Description = "Start over: delete the data folder (captures, registry, gateway state) first. The built base model is kept." };
        var command = new Command("up",
            "Run the whole flywheel on this machine: the project's base model (built on first run and kept) behind a local model server, " +
            "the gateway with the embedded store in front of it, simulated apps sending prompts through the gateway, and the flywheel " +
            "tuning and hot-swapping as inputs accumulate; prints progress, then a before/after table. Reruns continue from the stored state. " +
            "Environment: TAO_DATA_DIR (default ./.tao/data), TAO_ADMIN_KEY (default: generated and printed).")
        {
            data, config, once, noTraffic, reset,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var folder = TaoConfiguration.DataDirectory(result.GetValue(data));
            if (result.GetValue(reset) && Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            return await new DemoRun(folder, result.GetValue(once), !result.GetValue(noTraffic), result.GetValue(config) ?? [], Console.Out)
                .RunAsync(cancellationToken);
        });
        return command;
    }
}
