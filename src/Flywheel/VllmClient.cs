namespace Tao.Flywheel;

/// <summary>
/// vLLM's runtime LoRA API (server started with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True): the adapter in PEFT format is
/// loaded under a name, after which requests for that model name use it.
/// </summary>
internal sealed class VllmClient(HttpClient http)
{
    public async Task LoadAdapterAsync(string name, string path, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("/v1/load_lora_adapter", new { lora_name = name, lora_path = path }, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"vLLM could not load adapter {name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }
}
