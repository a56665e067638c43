namespace Tao.Flywheel;

public sealed class KafkaIngestOptions
{
    public bool Enabled { get; set; }
    public string BootstrapServers { get; set; } = string.Empty;
    public string Topic { get; set; } = "tao.captures";
    public string GroupId { get; set; } = "tao-flywheel";
}
