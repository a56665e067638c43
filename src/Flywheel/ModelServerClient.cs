using System.Net.Http.Headers;

namespace Tao.Flywheel;

/// <summary>Tao's model server admin API: load a registry version under its name before the gateway routes to it.</summary>
internal sealed class ModelServerClient(HttpClient http, string? adminKey)
{
    public async Task LoadAsync(string name, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/admin/models/{name}") { Content = JsonContent.Create(new { path }) };
        if (!string.IsNullOrEmpty(adminKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"model server could not load {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }
}
