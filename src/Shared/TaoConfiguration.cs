namespace Tao.Hosting;

/// <summary>
/// Configuration every command reads (compiled into the CLI and the native gateway executable; see src/Shared), later sources winning: built-in defaults (appsettings.json beside the
/// program), data-folder defaults, ./tao.json when present, --config files, environment variables
/// (Tao__Section__Key, e.g. Tao__ClickHouse__Url; plus the shortcuts below), then command-line overrides.
/// </summary>
internal static class TaoConfiguration
{
    /// <summary>Environment variables read as shortcuts, shown in every command's help.</summary>
    public const string EnvironmentHelp =
        "Environment: TAO_DATA_DIR (data folder, default ./.tao/data), TAO_ADMIN_KEY (admin API key), " +
        "TAO_CLICKHOUSE_URL (ClickHouse server; default: embedded engine), TAO_KAFKA_BOOTSTRAP (enables the Kafka sink), " +
        "and any setting as Tao__Section__Key (e.g. Tao__Gateway__Urls).";

    public static string DataDirectory(string? dataOption) =>
        Path.GetFullPath(dataOption ?? Environment.GetEnvironmentVariable("TAO_DATA_DIR") ?? Path.Combine(".tao", "data"));

    public static IConfigurationRoot Build(string? dataOption, IEnumerable<string> configFiles, IDictionary<string, string?>? overrides = null)
    {
        var data = DataDirectory(dataOption);
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Tao:ClickHouse:EmbeddedPath"] = Path.Combine(data, "clickhouse"),
                ["Tao:Capture:Spool:Path"] = Path.Combine(data, "spool"),
                ["Tao:Gateway:StatePath"] = Path.Combine(data, "gateway"),
                ["Tao:Flywheel:WorkPath"] = Path.Combine(data, "flywheel"),
            })
            .AddJsonFile(Path.GetFullPath("tao.json"), optional: true);
        foreach (var file in configFiles)
        {
            builder.AddJsonFile(Path.GetFullPath(file), optional: false);
        }

        builder.AddEnvironmentVariables();
        builder.AddInMemoryCollection(Shortcuts());
        if (overrides is not null)
        {
            builder.AddInMemoryCollection(overrides);
        }

        return builder.Build();
    }

    /// <summary>The gateway's configuration: as <see cref="Build"/>, with --urls (when given) as Tao:Gateway:Urls.</summary>
    public static IConfigurationRoot ForGateway(string? dataOption, IEnumerable<string> configFiles, string? urls) =>
        Build(dataOption, configFiles, urls is null ? null : new Dictionary<string, string?> { ["Tao:Gateway:Urls"] = urls });

    private static Dictionary<string, string?> Shortcuts()
    {
        var values = new Dictionary<string, string?>();
        if (Environment.GetEnvironmentVariable("TAO_ADMIN_KEY") is { Length: > 0 } admin)
        {
            values["Tao:Auth:AdminKey"] = admin;
        }

        if (Environment.GetEnvironmentVariable("TAO_CLICKHOUSE_URL") is { Length: > 0 } url)
        {
            values["Tao:ClickHouse:Url"] = url;
        }

        if (Environment.GetEnvironmentVariable("TAO_KAFKA_BOOTSTRAP") is { Length: > 0 } kafka)
        {
            values["Tao:Capture:Kafka:Enabled"] = "true";
            values["Tao:Capture:Kafka:BootstrapServers"] = kafka;
        }

        return values;
    }
}
