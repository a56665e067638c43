using System.CommandLine;
using Tao.Gateway.Hosting;
using Tao.Hosting;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Cli.Commands;

/// <summary>tao store serve: the embedded engine over ClickHouse's HTTP interface (with a user and password), for tools (and tao faults).</summary>
internal static class StoreCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var port = new Option<int>("--port") { Description = "Port on 127.0.0.1 for ClickHouse's HTTP interface. Default: 8123.", DefaultValueFactory = _ => 8123 };
        var serve = new Command("serve",
            "Open the embedded ClickHouse engine in the data folder, apply Tao's schema, and serve it over ClickHouse's HTTP interface on 127.0.0.1, " +
            "so any ClickHouse client (or a gateway with Tao:ClickHouse:Url, Username and Password) can use it. The engine is one process's: stop the gateway first. " +
            "Clients authenticate as user tao (full rights) or reader (read-only); passwords come from Tao:ClickHouse:EmbeddedHttpPassword and " +
            "EmbeddedHttpReaderPassword, or are generated on first use, printed once and kept in clickhouse-http-credentials.json beside the engine folder. " +
            TaoConfiguration.EnvironmentHelp)
        {
            data, config, port,
        };
        serve.SetAction(async (result, cancellationToken) =>
        {
            var configuration = TaoConfiguration.Build(result.GetValue(data), result.GetValue(config) ?? []);
            var options = configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new();
            options.Url = null;
            options.EmbeddedHttpPort = result.GetValue(port);
            if (options.EmbeddedHttpPort is < 1 or > 65535)
            {
                Console.Error.WriteLine("--port must be between 1 and 65535");
                return 2;
            }

            await using var store = await ClickHouseStore.OpenAsync(options, cancellationToken);
            await new SchemaMigrator(store).MigrateAsync(cancellationToken);
            Console.WriteLine($"embedded ClickHouse ({options.EmbeddedPath}) on {store.EmbeddedHttpEndpoint}, database {options.Database}");
            foreach (var line in EmbeddedStoreNotice.Lines(store).Skip(1))
            {
                Console.WriteLine(line);
            }

            await GatewayHost.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return new Command("store", "The embedded store.") { serve };
    }
}
