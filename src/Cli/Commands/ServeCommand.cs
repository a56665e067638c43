using System.CommandLine;
using Tao.Gateway.Hosting;
using Tao.Hosting;
using Tao.Serving;

namespace Tao.Cli.Commands;

/// <summary>tao serve: the project's checkpoints behind an OpenAI-compatible API (what the gateway fronts on one machine).</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var model = new Option<string[]>("--model") { Description = "name=folder to load (several allowed). Also Tao:Serve:Models.", AllowMultipleArgumentsPerToken = true };
        var urls = new Option<string?>("--urls") { Description = "Listen addresses. Default: http://127.0.0.1:8000." };
        var config = CommonOptions.Config();
        var command = new Command("serve",
            "Serve checkpoints (config.json + safetensors + tokenizer) over /v1/chat/completions, /v1/completions (streaming with usage) and " +
            "/v1/models; concurrent requests are decoded in batches. PUT /admin/models/{name} {\"path\"} loads another version at runtime " +
            "(Tao:Serve:AdminKey). Environment: Tao__Serve__* settings.")
        {
            model, urls, config,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            foreach (var pair in result.GetValue(model) ?? [])
            {
                var (name, path) = (pair[..pair.IndexOf('=')], pair[(pair.IndexOf('=') + 1)..]);
                overrides[$"Tao:Serve:Models:{name}"] = Path.GetFullPath(path);
            }

            if (result.GetValue(urls) is { } u)
            {
                overrides["Tao:Serve:Urls"] = u;
            }

            var configuration = TaoConfiguration.Build(null, result.GetValue(config) ?? [], overrides);
            await using var app = ModelServerApp.Build(configuration);
            await app.StartAsync(cancellationToken);
            Console.WriteLine($"model server listening on {string.Join(", ", app.Urls)}");
            await GatewayHost.WaitForShutdownAsync(cancellationToken);
            await app.StopAsync();
            return 0;
        });
        return command;
    }
}
