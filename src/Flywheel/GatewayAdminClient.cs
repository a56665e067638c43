using System.Net.Http.Headers;
using System.Text.Json;

namespace Tao.Flywheel;

/// <summary>The gateway's admin API, as the flywheel uses it to hot-swap: add a model entry, point an alias at it.</summary>
public sealed class GatewayAdminClient(HttpClient http, string? adminKey)
{
    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public Task PutClusterAsync(string id, string address, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"/admin/clusters/{id}", new { destinations = new Dictionary<string, string> { ["d1"] = address } }, cancellationToken);

    public Task PutModelAsync(string name, string cluster, string upstreamModel, string version, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"/admin/models/{name}", new { cluster, upstream_model = upstreamModel, version }, cancellationToken);

    public Task PutAliasAsync(string alias, string target, string? canaryTarget, double canaryPercent, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"/admin/aliases/{alias}", new { target, canary_target = canaryTarget, canary_percent = canaryPercent }, cancellationToken);

    /// <summary>The model the alias currently names, or null when the gateway does not know the alias.</summary>
    public async Task<string?> AliasTargetAsync(string alias, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/routing");
        Authorize(request);
        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return document.RootElement.GetProperty("aliases").TryGetProperty(alias, out var entry) ? entry.GetProperty("target").GetString() : null;
    }

    private async Task SendAsync(HttpMethod method, string path, object body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body, options: s_json) };
        Authorize(request);
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"gateway {method} {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    private void Authorize(HttpRequestMessage request)
    {
        if (!string.IsNullOrEmpty(adminKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        }
    }
}
