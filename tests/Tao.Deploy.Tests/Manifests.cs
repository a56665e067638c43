using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Tao.Deploy.Tests;

/// <summary>Reads deploy/: YAML documents as plain trees, and the effective configuration each Tao container gets.</summary>
internal static partial class Manifests
{
    public static string Root { get; } = FindRoot();

    public static string Deploy => Path.Combine(Root, "deploy");

    public static IReadOnlyList<YamlMappingNode> Documents(string relativePath)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Deploy, relativePath)))
        {
            stream.Load(reader);
        }

        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().ToList();
    }

    public static IEnumerable<string> KubernetesFiles() =>
        Directory.EnumerateFiles(Path.Combine(Deploy, "k8s"), "*.yaml").Select(f => Path.GetRelativePath(Deploy, f)).Order(StringComparer.Ordinal);

    public static IEnumerable<YamlMappingNode> KubernetesDocuments() => KubernetesFiles().SelectMany(Documents);

    public static YamlNode? At(this YamlNode node, params string[] path)
    {
        var current = node;
        foreach (var key in path)
        {
            if (current is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out current))
            {
                return null;
            }
        }

        return current;
    }

    public static string? Text(this YamlNode node, params string[] path) => (node.At(path) as YamlScalarNode)?.Value;

    public static IEnumerable<YamlNode> Items(this YamlNode node, params string[] path) =>
        node.At(path) is YamlSequenceNode sequence ? sequence.Children : [];

    public static IEnumerable<string> Strings(this YamlNode node, params string[] path) =>
        node.Items(path).OfType<YamlScalarNode>().Select(s => s.Value!);

    /// <summary>Compose's ${VAR:-default} and ${VAR:?error}: the default, or a placeholder for a required secret.</summary>
    public static string Interpolate(string value) =>
        Interpolation().Replace(value, m => m.Groups["op"].Value == ":-" ? m.Groups["rest"].Value : "secret-from-environment");

    /// <summary>A Tao container: the arguments it runs and the configuration it reads.</summary>
    public sealed record TaoContainer(string Name, IReadOnlyList<string> Arguments, IReadOnlyList<string> ConfigFiles, IReadOnlyDictionary<string, string> Environment);

    public static IEnumerable<TaoContainer> ComposeTaoServices()
    {
        var services = (YamlMappingNode)Documents("compose.yaml").Single().At("services")!;
        foreach (var (key, value) in services.Children)
        {
            var image = value.Text("image");
            if (image is null || !Interpolate(image).StartsWith("tao:", StringComparison.Ordinal))
            {
                continue;
            }

            // Compose also takes a command line as one string: split it, so a string form is not read as "no entry point".
            var entrypoint = value.At("entrypoint") is YamlScalarNode line
                ? line.Value!.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList()
                : value.Strings("entrypoint").ToList();
            var arguments = Arguments(entrypoint, value.Strings("command").ToList());
            var mounts = value.Strings("volumes").Select(v => v.Split(':')).Where(p => p.Length >= 2)
                .ToDictionary(p => p[1], p => p[0], StringComparer.Ordinal);
            var files = ConfigArguments(arguments).Select(f => Path.GetFullPath(Path.Combine(Deploy, mounts[f]))).ToList();
            var environment = value.At("environment") is YamlMappingNode env
                ? env.Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => Interpolate(((YamlScalarNode)p.Value).Value ?? string.Empty), StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal);
            yield return new TaoContainer(((YamlScalarNode)key).Value!, arguments, files, environment);
        }
    }

    public static IEnumerable<TaoContainer> KubernetesTaoContainers()
    {
        var generated = ConfigMapFiles();
        foreach (var document in KubernetesDocuments())
        {
            var spec = document.At("spec", "template", "spec") ?? document.At("spec", "jobTemplate", "spec", "template", "spec");
            if (spec is null)
            {
                continue;
            }

            var volumes = spec.Items("volumes").ToDictionary(v => v.Text("name")!, v => v.Text("configMap", "name"), StringComparer.Ordinal);
            foreach (var container in spec.Items("containers").Where(c => c.Text("image")?.StartsWith("tao:", StringComparison.Ordinal) == true))
            {
                var arguments = Arguments(container.Strings("command").ToList(), container.Strings("args").ToList());
                var mounts = container.Items("volumeMounts").ToDictionary(m => m.Text("mountPath")!, m => (Volume: m.Text("name")!, SubPath: m.Text("subPath")), StringComparer.Ordinal);
                var files = ConfigArguments(arguments).Select(f =>
                {
                    var (volume, subPath) = mounts[f];
                    var configMap = volumes[volume] ?? throw new InvalidOperationException($"{f} is not mounted from a ConfigMap");
                    return generated[(configMap, subPath!)];
                }).ToList();
                var environment = container.Items("env").ToDictionary(
                    e => e.Text("name")!, e => e.Text("value") ?? "value-from-" + (e.At("valueFrom") is YamlMappingNode from ? ((YamlScalarNode)from.Children.Keys.First()).Value : "?"),
                    StringComparer.Ordinal);
                yield return new TaoContainer($"{document.Text("metadata", "name")}/{container.Text("name")}", arguments, files, environment);
            }
        }
    }

    /// <summary>(ConfigMap name, key) → file in deploy/, from the kustomization's configMapGenerator.</summary>
    public static Dictionary<(string, string), string> ConfigMapFiles()
    {
        var kustomization = Documents("kustomization.yaml").Single();
        var files = new Dictionary<(string, string), string>();
        foreach (var generator in kustomization.Items("configMapGenerator"))
        {
            foreach (var file in generator.Strings("files"))
            {
                files[(generator.Text("name")!, Path.GetFileName(file))] = Path.Combine(Deploy, file);
            }
        }

        return files;
    }

    /// <summary>
    /// A container's command line as `tao` arguments: the image's entry point is `tao`; one that runs the native gateway
    /// (/opt/tao/tao-gateway, whose command line is `tao gateway`'s: both are made by GatewayCommandLine) reads as `tao gateway`.
    /// </summary>
    private static List<string> Arguments(IReadOnlyList<string> entrypoint, IReadOnlyList<string> arguments) => entrypoint switch
    {
        [] or ["/opt/tao/tao"] => [.. arguments],
        ["/opt/tao/tao-gateway"] => ["gateway", .. arguments],
        _ => throw new InvalidOperationException($"a Tao container runs {string.Join(' ', entrypoint)}, neither /opt/tao/tao nor /opt/tao/tao-gateway"),
    };

    private static IEnumerable<string> ConfigArguments(IReadOnlyList<string> arguments) =>
        arguments.Select((a, i) => (a, i)).Where(p => p.a == "--config" && p.i + 1 < arguments.Count).Select(p => arguments[p.i + 1]);

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Tao.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("repository root (Tao.sln) not found");
    }

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?<op>:-|:\?)?(?<rest>[^}]*)\}")]
    private static partial Regex Interpolation();
}
