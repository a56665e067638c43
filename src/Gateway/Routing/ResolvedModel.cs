using Tao.Gateway.State;

namespace Tao.Gateway.Routing;

/// <summary>The model entry a request resolved to, and the alias it came through, if any.</summary>
internal sealed record ResolvedModel(string Requested, string? Alias, string Name, ModelEntry Entry)
{
    public string UpstreamModel => Entry.UpstreamName(Name);
}
