using System.CommandLine;
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
        var command = new Command("schema", "Print the ClickHouse DDL of every migration, for a single node or (--cluster) a replicated cluster.")
        {
            database, cluster, retention,
        };
        command.SetAction(result =>
        {
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
