using System.CommandLine;
using Tao.Hosting;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Cli.Commands;

/// <summary>tao schema: the DDL Tao applies, for DBAs who create tables themselves (single node or cluster).</summary>
internal static class SchemaCommand
{
    public static Command Create()
    {
        var database = new Option<string>("--database") { Description = "Database name. Default: tao.", DefaultValueFactory = _ => "tao" };
        var cluster = new Option<string?>("--cluster") { Description = "Cluster name: Replicated tables plus a Distributed table over them." };
        var retention = new Option<int>("--body-retention-days") { Description = "TTL of bodies in days (0 = forever). Default: 90.", DefaultValueFactory = _ => 90 };
        var apply = new Option<bool>("--apply")
        {
            Description = "Apply the migrations to the configured store (Tao:ClickHouse, from --config files and Tao__ClickHouse__… variables) " +
                "instead of printing them; what a deployment runs once before the services start.",
        };
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var command = new Command("schema", "Print the ClickHouse DDL of every migration, for a single node or (--cluster) a replicated cluster; or apply it (--apply).")
        {
            database, cluster, retention, apply, data, config,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (result.GetValue(apply))
            {
                var configuration = TaoConfiguration.Build(result.GetValue(data), result.GetValue(config) ?? []);
                var configured = configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new();
                await using var store = await ClickHouseStore.OpenAsync(configured, cancellationToken);
                await new SchemaMigrator(store).MigrateAsync(cancellationToken);
                Console.WriteLine($"schema of {configured.Database} is current{(configured.Cluster is { Length: > 0 } c ? $" on cluster {c}" : string.Empty)}");
                return 0;
            }

            var options = new ClickHouseOptions
            {
                Database = result.GetValue(database)!, Cluster = result.GetValue(cluster), BodyRetentionDays = result.GetValue(retention),
            };
            options.Validate();
            Console.Write(SchemaScript.Render(options));
            return 0;
        });
        return command;
    }
}
