using System.CommandLine;
using Tao.Cli.Commands;

var root = new RootCommand("Tao: an OpenAI-compatible gateway that captures your LLM traffic and tunes your model on it (TAO).")
{
    GatewayCommand.Create(),
    UpCommand.Create(),
    BenchCommand.Create(),
    FakeUpstreamCommand.Create(),
    SchemaCommand.Create(),
    TrainCommand.Create(),
    ServeCommand.Create(),
    FlywheelCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
