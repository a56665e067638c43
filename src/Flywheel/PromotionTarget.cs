namespace Tao.Flywheel;

/// <summary>Where a promoted version is served from.</summary>
public sealed class PromotionTarget
{
    /// <summary>Local (Tao's model server), Vllm (LoRA adapter hot-loaded into vLLM), or Url (any upstream). Default: Local.</summary>
    public string Kind { get; set; } = "Local";

    /// <summary>Gateway cluster of the model server (Local) or of vLLM (Vllm). Default: "tao-models".</summary>
    public string Cluster { get; set; } = "tao-models";

    /// <summary>Model server URL and admin key (Local).</summary>
    public string ServerUrl { get; set; } = "http://127.0.0.1:8000";
    public string? ServerAdminKey { get; set; }

    /// <summary>vLLM URL (Vllm): adapters are loaded through /v1/load_lora_adapter; the path must be readable by vLLM.</summary>
    public string VllmUrl { get; set; } = "http://127.0.0.1:8001";

    /// <summary>Upstream base URL and model name (Url).</summary>
    public string? Url { get; set; }
    public string? UrlModel { get; set; }
}
