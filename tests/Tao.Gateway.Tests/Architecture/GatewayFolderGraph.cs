using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Tao.Gateway.Tests.Architecture;

/// <summary>
/// Which feature folder of src/Gateway uses which, read from the source with the compiler's own binding: every name in
/// a file (type, member, extension method, constant) is resolved to the symbol it means, and a use of a symbol declared
/// in another folder is an edge. Constants and nameof count (they vanish from the compiled assembly, so reflection over
/// it would miss them); usings and doc comments do not (they name, they do not use). Files directly in src/Gateway are
/// the composition root, "(root)".
/// </summary>
internal sealed class GatewayFolderGraph
{
    public const string Root = "(root)";

    /// <summary>Folder → the folders it uses, each with the uses that make the edge ("file uses symbol").</summary>
    public required IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyList<string>>> Edges { get; init; }

    /// <summary>Names the compiler could not resolve (an incomplete reference set would hide edges).</summary>
    public required IReadOnlyList<string> Unresolved { get; init; }

    private static readonly HashSet<string> s_unresolvedIds = ["CS0246", "CS0234", "CS0103", "CS1061", "CS0117", "CS0426"];

    public static GatewayFolderGraph Build()
    {
        var root = RepositoryRoot.Path;
        var gateway = Path.Combine(root, "src", "Gateway");
        var parse = new CSharpParseOptions(LanguageVersion.Preview);
        var files = Directory.EnumerateFiles(gateway, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Order(StringComparer.Ordinal)
            .ToList();
        var trees = files.Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), parse, f)).ToList();

        // What the project compiles beside its own folder: the shared web-host source and the SDK's implicit usings.
        trees.Add(CSharpSyntaxTree.ParseText(File.ReadAllText(Path.Combine(root, "src", "Shared", "QuietWebHost.cs")), parse, "Shared/QuietWebHost.cs"));
        trees.Add(CSharpSyntaxTree.ParseText(GlobalUsings(root), parse, "GlobalUsings.g.cs"));

        var compilation = CSharpCompilation.Create("Tao.Gateway", trees, References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));

        var unresolved = compilation.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error && s_unresolvedIds.Contains(d.Id) && !IsGenerated(compilation, d))
            .Select(d => d.ToString())
            .ToList();

        var edges = new Dictionary<string, Dictionary<string, SortedSet<string>>>(StringComparer.Ordinal);
        foreach (var tree in trees.Where(t => t.FilePath.StartsWith(gateway, StringComparison.Ordinal)))
        {
            var from = Folder(gateway, tree.FilePath);
            var targets = edges.TryGetValue(from, out var existing) ? existing : edges[from] = new(StringComparer.Ordinal);
            var model = compilation.GetSemanticModel(tree);
            foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
            {
                if (name.Ancestors().Any(a => a is UsingDirectiveSyntax))
                {
                    continue;
                }

                var info = model.GetSymbolInfo(name);
                var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
                foreach (var declared in DeclaringFiles(symbol))
                {
                    if (!declared.StartsWith(gateway, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var to = Folder(gateway, declared);
                    if (to != from)
                    {
                        var uses = targets.TryGetValue(to, out var known) ? known : targets[to] = new(StringComparer.Ordinal);
                        uses.Add($"{Path.GetRelativePath(gateway, tree.FilePath)} uses {symbol!.ToDisplayString()}");
                    }
                }
            }
        }

        return new GatewayFolderGraph
        {
            Edges = edges.ToDictionary(
                e => e.Key,
                e => (IReadOnlyDictionary<string, IReadOnlyList<string>>)e.Value.ToDictionary(t => t.Key, t => (IReadOnlyList<string>)[.. t.Value], StringComparer.Ordinal),
                StringComparer.Ordinal),
            Unresolved = unresolved,
        };
    }

    /// <summary>
    /// A member the System.Text.Json source generator writes (a context's Default and its type-info properties): this
    /// compilation runs no generators, and a member of a JsonSerializerContext is no edge between folders.
    /// </summary>
    private static bool IsGenerated(CSharpCompilation compilation, Diagnostic diagnostic)
    {
        if (diagnostic.Id != "CS0117" || diagnostic.Location.SourceTree is not { } tree
            || tree.GetRoot().FindNode(diagnostic.Location.SourceSpan) is not { Parent: MemberAccessExpressionSyntax access })
        {
            return false;
        }

        var type = compilation.GetSemanticModel(tree).GetSymbolInfo(access.Expression).Symbol as INamedTypeSymbol;
        for (var t = type?.BaseType; t is not null; t = t.BaseType)
        {
            if (t.ToDisplayString() == "System.Text.Json.Serialization.JsonSerializerContext")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A cycle as the list of folders along it (first = last), or null when the graph is a DAG.</summary>
    public IReadOnlyList<string>? FindCycle()
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 = on the path, 2 = done
        var path = new List<string>();

        IReadOnlyList<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in Edges.TryGetValue(node, out var targets) ? targets.Keys.Order(StringComparer.Ordinal) : Enumerable.Empty<string>())
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    return [.. path.Skip(path.IndexOf(next)), next];
                }

                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } cycle)
                {
                    return cycle;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }

        foreach (var node in Edges.Keys.Order(StringComparer.Ordinal))
        {
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    /// <summary>Why each edge of a cycle exists: the first few uses that make it.</summary>
    public string Explain(IReadOnlyList<string> cycle) =>
        string.Join(Environment.NewLine, cycle.Zip(cycle.Skip(1), (a, b) =>
        {
            var uses = Edges[a][b];
            var more = uses.Count > 5 ? $"{Environment.NewLine}    … and {uses.Count - 5} more" : string.Empty;
            return $"  {a} -> {b}:{Environment.NewLine}    {string.Join($"{Environment.NewLine}    ", uses.Take(5))}{more}";
        }));

    private static IEnumerable<string> DeclaringFiles(ISymbol? symbol)
    {
        // A member belongs to its type's folder; a constructed generic to its definition's.
        var type = symbol switch
        {
            null or INamespaceSymbol => null,
            ITypeSymbol t => t,
            _ => symbol.ContainingType,
        };
        while (type?.ContainingType is { } outer)
        {
            type = outer;
        }

        if (type is IArrayTypeSymbol array)
        {
            type = array.ElementType;
        }

        return type?.OriginalDefinition.DeclaringSyntaxReferences.Select(r => r.SyntaxTree.FilePath) ?? [];
    }

    private static string Folder(string gateway, string file)
    {
        var relative = Path.GetRelativePath(gateway, file);
        var separator = relative.IndexOf(Path.DirectorySeparatorChar);
        return separator < 0 ? Root : relative[..separator];
    }

    private static IEnumerable<MetadataReference> References()
    {
        // The runtime's and ASP.NET Core's assemblies (this test host runs on both), then the packages and projects the
        // gateway references, which the build copied beside this test. The gateway itself comes from source.
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var platform = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var path in platform.Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll")))
        {
            var name = Path.GetFileName(path);
            if (name is "Tao.Gateway.dll" or "Tao.Gateway.Tests.dll" || byName.ContainsKey(name) || !IsManaged(path))
            {
                continue;
            }

            byName[name] = path;
        }

        return byName.Values.Select(p => MetadataReference.CreateFromFile(p));
    }

    private static bool IsManaged(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new System.Reflection.PortableExecutable.PEReader(stream);
            return reader.HasMetadata;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    private static string GlobalUsings(string root)
    {
        // The SDK writes the project's implicit and <Using> global usings here on every build.
        var generated = Directory.EnumerateFiles(Path.Combine(root, "artifacts", "obj", "Tao.Gateway"), "Tao.Gateway.GlobalUsings.g.cs", SearchOption.AllDirectories)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
        return generated is null
            ? throw new InvalidOperationException("Tao.Gateway.GlobalUsings.g.cs not found under artifacts/obj: build the gateway first")
            : File.ReadAllText(generated);
    }
}
