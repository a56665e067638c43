using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Microsoft.Extensions.Options;

namespace Tao.Flywheel;

/// <summary>
/// Leader election through Kafka's group protocol, which a Kafka deployment already runs: every flywheel instance joins
/// one consumer group on a one-partition topic, and the member the broker assigns that partition leads. When it dies
/// or stalls past <c>session.timeout.ms</c> the group rebalances and another member takes over. The window in which two
/// instances both believe they lead is bounded by the session timeout; rounds are safe to repeat (they register new
/// versions and promotion is one alias move), so the worst case is a wasted round, never a lost version.
/// </summary>
internal sealed partial class KafkaLeadership(IOptions<FlywheelOptions> options, ILogger<KafkaLeadership> logger) : BackgroundService, ILeadership
{
    private volatile bool _leader;

    public bool IsLeader => _leader;

    public string Identity { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Factory.StartNew(() => Run(stoppingToken), TaskCreationOptions.LongRunning);

    private void Run(CancellationToken stoppingToken)
    {
        var settings = options.Value.Leader;
        EnsureTopic(settings);
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = settings.BootstrapServers,
            GroupId = settings.GroupId,
            ClientId = Identity,
            SessionTimeoutMs = settings.SessionTimeoutMs,
            HeartbeatIntervalMs = Math.Max(100, settings.SessionTimeoutMs / 5),
            EnableAutoCommit = false,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.Range,
        })
            .SetPartitionsAssignedHandler((_, partitions) => Set(partitions.Count > 0))
            .SetPartitionsRevokedHandler((_, _) => Set(false))
            .SetPartitionsLostHandler((_, _) => Set(false))
            .Build();
        consumer.Subscribe(settings.Topic);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                consumer.Consume(TimeSpan.FromMilliseconds(250)); // nothing is ever produced; polling keeps the membership alive
            }
            catch (ConsumeException e)
            {
                LogElectionError(logger, e.Error.Reason);
            }
        }

        Set(false);
        consumer.Close();
    }

    private void Set(bool leader)
    {
        if (_leader != leader)
        {
            _leader = leader;
            LogLeadership(logger, Identity, leader ? "leads" : "stands by");
        }
    }

    private void EnsureTopic(LeaderOptions settings)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = settings.BootstrapServers }).Build();
        try
        {
            if (admin.GetMetadata(settings.Topic, TimeSpan.FromSeconds(10)).Topics.Any(t => t.Error.Code == ErrorCode.NoError && t.Partitions.Count > 0))
            {
                return;
            }

            admin.CreateTopicsAsync([new TopicSpecification { Name = settings.Topic, NumPartitions = 1, ReplicationFactor = -1 }],
                new CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(15) }).GetAwaiter().GetResult();
        }
        catch (CreateTopicsException e) when (e.Results.All(r => r.Error.Code is ErrorCode.TopicAlreadyExists or ErrorCode.NoError))
        {
        }
        catch (KafkaException e)
        {
            LogElectionError(logger, $"could not create {settings.Topic} ({e.Error.Reason}); expecting it to exist");
        }
    }

    [LoggerMessage(EventId = 3400, Level = LogLevel.Information, Message = "Flywheel {Identity} {State}")]
    private static partial void LogLeadership(ILogger logger, string identity, string state);

    [LoggerMessage(EventId = 3401, Level = LogLevel.Warning, Message = "Leader election: {Reason}")]
    private static partial void LogElectionError(ILogger logger, string reason);
}
