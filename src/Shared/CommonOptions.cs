using System.CommandLine;

namespace Tao.Hosting;

/// <summary>Options several commands share (compiled into the CLI and the native gateway executable; see src/Shared).</summary>
internal static class CommonOptions
{
    public static Option<string?> Data() => new("--data")
    {
        Description = "Data folder (embedded ClickHouse, spool, gateway state). Default: $TAO_DATA_DIR or ./.tao/data.",
    };

    public static Option<string[]> Config() => new("--config")
    {
        Description = "Extra JSON configuration file(s), applied after ./tao.json.",
        AllowMultipleArgumentsPerToken = true,
    };

    public static Option<string?> Urls() => new("--urls")
    {
        Description = "Addresses the gateway listens on (Tao:Gateway:Urls). Default: http://127.0.0.1:8080.",
    };
}
