namespace Tao.Tests;

/// <summary>
/// chDB allows one storage path per process, so every test in an assembly shares one engine folder and keeps
/// to its own database. The folder is removed when the test process exits.
/// </summary>
internal static class TestEngine
{
    public static readonly string Root = CreateRoot();

    public static string EnginePath => Path.Combine(Root, "clickhouse");

    public static string NewFolder(string name)
    {
        var path = Path.Combine(Root, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    public static string NewDatabase(string prefix) => $"{prefix}_{Guid.NewGuid():N}";

    private static string CreateRoot()
    {
        var root = Path.Combine(Path.GetTempPath(), "tao-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return root;
    }
}
