namespace Tao.Capture.Export;

/// <summary>The dataset formats captured traffic leaves in.</summary>
public enum ExportFormat
{
    /// <summary>OpenAI chat fine-tuning JSONL: {"messages":[…, {"role":"assistant",…}]} per line.</summary>
    OpenAiChat,

    /// <summary>Hugging Face chat JSONL (TRL's conversational SFT format): {"messages":[…]} with plain-string contents.</summary>
    HfChat,

    /// <summary>Preference pairs JSONL for DPO (TRL's conversational format): {"prompt":[…],"chosen":[…],"rejected":[…]}.</summary>
    Preferences,

    /// <summary>Parquet, written by ClickHouse's own output format: one row per exported call.</summary>
    Parquet,
}
