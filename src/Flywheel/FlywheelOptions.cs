namespace Tao.Flywheel;

/// <summary>The flywheel: which served models it tunes, on which tasks, and where it promotes them.</summary>
public sealed class FlywheelOptions
{
    public const string Section = "Tao:Flywheel";

    /// <summary>Seconds between checks for new inputs. Default: 10.</summary>
    public int PollSeconds { get; set; } = 10;

    /// <summary>Gateway admin API, where promotions move aliases. Default: http://127.0.0.1:8080.</summary>
    public string GatewayUrl { get; set; } = "http://127.0.0.1:8080";

    public string? GatewayAdminKey { get; set; }

    /// <summary>Model registry folder. Default: ".tao/data/registry".</summary>
    public string RegistryPath { get; set; } = Path.Combine(".tao", "data", "registry");

    /// <summary>Working folder of rounds (resumable state, checkpoints). Default: ".tao/data/flywheel".</summary>
    public string WorkPath { get; set; } = Path.Combine(".tao", "data", "flywheel");

    /// <summary>Address of the flywheel's status API. Default: http://127.0.0.1:8090.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:8090";

    /// <summary>Key for the status API's write operations (rollback, run now). Default: the gateway admin key.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Consume the captures topic and write ClickHouse here (Helicone-style), so gateways need no ClickHouse credentials. Default: off.</summary>
    public KafkaIngestOptions KafkaIngest { get; set; } = new();

    /// <summary>How several flywheel instances agree on the one that runs rounds. Default: none (this instance leads).</summary>
    public LeaderOptions Leader { get; set; } = new();

    /// <summary>Served models to tune, by name (each is one gateway alias).</summary>
    public Dictionary<string, ModelGroupOptions> Groups { get; set; } = new(StringComparer.Ordinal);
}
