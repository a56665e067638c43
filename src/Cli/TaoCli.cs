using System.CommandLine;
using Tao.Cli.Commands;

namespace Tao.Cli;

/// <summary>The one command line of the product; the deploy tests parse the commands the manifests run against it.</summary>
internal static class TaoCli
{
    public static RootCommand Create() => new("Tao: an OpenAI-compatible gateway that captures your LLM traffic and tunes your model on it (TAO).")
    {
        GatewayCommand.Create(),
        UpCommand.Create(),
        BenchCommand.Create(),
        FakeUpstreamCommand.Create(),
        SchemaCommand.Create(),
        ExportCommand.Create(),
        TrainCommand.Create(),
        ServeCommand.Create(),
        FlywheelCommand.Create(),
        ConfigCommand.Create(),
        ProbeCommand.Create(),
        StatsCommand.CreateStats(),
        StatsCommand.CreateTopPrompts(),
        StoreCommand.Create(),
        FaultsCommand.Create(),
        Benchmarks.YarpBaseline.CreateCommand(),
    };
}
