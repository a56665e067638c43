namespace Tao.Hosting;

/// <summary>
/// How every Tao server builds its web host (compiled into each assembly that serves HTTP; see src/Shared).
/// </summary>
/// <remarks>
/// The host's defaults load appsettings.json from the working directory with reload-on-change, through a recursive
/// FileSystemWatcher: one inotify watch per directory below the working directory. Tao's data folder sits below it by
/// default, so that meant a watch for every ClickHouse part directory (4,984 in one benchmark run, against a per-user
/// limit that can be 8,192) and an event to process for every part the engine wrote. Tao reads its configuration
/// once, through its own sources, and reloads nothing; the content root is the program's folder.
/// </remarks>
internal static class QuietWebHost
{
    // Named in full: the web SDK's projects import Microsoft.AspNetCore.Builder implicitly, Storage's plain SDK does not.
    public static Microsoft.AspNetCore.Builder.WebApplicationBuilder CreateSlimBuilder() =>
        Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder(new Microsoft.AspNetCore.Builder.WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
}
