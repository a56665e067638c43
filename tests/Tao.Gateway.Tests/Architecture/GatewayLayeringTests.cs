using Xunit.Abstractions;

namespace Tao.Gateway.Tests.Architecture;

/// <summary>
/// The gateway's feature folders depend on each other without cycles (docs/architecture.md draws the layers), so any
/// folder can be read knowing only the ones below it. A use that would close a cycle fails here with the files that
/// make each edge of it.
/// </summary>
public sealed class GatewayLayeringTests(ITestOutputHelper output)
{
    private static readonly Lazy<GatewayFolderGraph> s_graph = new(GatewayFolderGraph.Build);

    [Fact]
    public void EveryNameInTheGatewaySource_Resolves()
    {
        // An edge is found only where the compiler binds a name: a missing reference would silently hide edges.
        Assert.Empty(s_graph.Value.Unresolved);
    }

    [Fact]
    public void TheGraph_HoldsUsesKnownFromTheSource()
    {
        var edges = s_graph.Value.Edges;
        Assert.Contains("Routing", edges["Proxy"].Keys);     // ProxyStep resolves models through the RoutingSnapshot
        Assert.Contains("Capture", edges["Proxy"].Keys);     // and records the call through the CaptureRecorder
        Assert.Contains("Proxy", edges[GatewayFolderGraph.Root].Keys); // the composition root wires the proxy step
    }

    [Fact]
    public void GatewayFolders_DependOnEachOther_WithoutCycles()
    {
        var graph = s_graph.Value;
        foreach (var (from, targets) in graph.Edges.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{from} -> {string.Join(", ", targets.Keys.Order(StringComparer.Ordinal))}");
            if (Environment.GetEnvironmentVariable("TAO_PRINT_GRAPH") is not null)
            {
                foreach (var (to, uses) in targets) { foreach (var use in uses) { output.WriteLine($"    {from} -> {to}: {use}"); } }
            }
        }

        var cycle = graph.FindCycle();
        Assert.True(cycle is null, cycle is null ? null : $"Folder cycle {string.Join(" -> ", cycle)}:{Environment.NewLine}{graph.Explain(cycle)}");
    }

    [Fact]
    public void FindCycle_FindsACycle_AndOnlyThen()
    {
        static GatewayFolderGraph Of(params (string From, string To)[] edges) => new()
        {
            Edges = edges.GroupBy(e => e.From).ToDictionary(
                g => g.Key, g => (IReadOnlyDictionary<string, IReadOnlyList<string>>)g.ToDictionary(e => e.To, _ => (IReadOnlyList<string>)["test"])),
            Unresolved = [],
        };

        Assert.Null(Of(("A", "B"), ("B", "C"), ("A", "C")).FindCycle());
        Assert.Equal(["B", "C", "D", "B"], Of(("A", "B"), ("B", "C"), ("C", "D"), ("D", "B")).FindCycle());
    }
}
