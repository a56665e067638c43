using Microsoft.Extensions.Options;
using Tao.Bench;

namespace Tao.Flywheel.Tests;

/// <summary>Flywheel replicas elect one leader through Kafka's group protocol (librdkafka's mock cluster).</summary>
public sealed class LeaderElectionTests
{
    private static readonly ListLogger s_log = new();

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger<KafkaLeadership>
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));
    }

    [Fact]
    public async Task OneOfThreeReplicasLeads_AndWhenItStopsAnotherTakesOver()
    {
        using var cluster = new KafkaMockCluster();
        var options = Options.Create(new FlywheelOptions
        {
            Leader = new LeaderOptions
            {
                Kind = "Kafka", BootstrapServers = cluster.BootstrapServers, Topic = "leader-" + Guid.NewGuid().ToString("N")[..8],
                GroupId = "fw-" + Guid.NewGuid().ToString("N")[..8], SessionTimeoutMs = 3000,
            },
        });
        // The mock cluster has no controller to create topics through the admin API; a real cluster's leader topic is
        // created by the first replica (or by deploy/'s topic job).
        cluster.CreateTopic(options.Value.Leader.Topic, partitions: 1);
        var replicas = Enumerable.Range(0, 3).Select(_ => new KafkaLeadership(options, s_log)).ToList();
        foreach (var replica in replicas)
        {
            await replica.StartAsync(CancellationToken.None);
        }

        var leader = await SingleLeaderAsync(replicas);
        await leader.StopAsync(CancellationToken.None);
        Assert.False(leader.IsLeader);
        var rest = replicas.Where(r => r != leader).ToList();
        var next = await SingleLeaderAsync(rest);
        Assert.NotEqual(leader.Identity, next.Identity);

        foreach (var replica in rest)
        {
            await replica.StopAsync(CancellationToken.None);
            replica.Dispose();
        }

        leader.Dispose();
    }

    private static async Task<KafkaLeadership> SingleLeaderAsync(List<KafkaLeadership> replicas)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (DateTime.UtcNow < deadline)
        {
            var leaders = replicas.Where(r => r.IsLeader).ToList();
            if (leaders.Count == 1)
            {
                // Stable for a moment: exactly one leads, not a transient during the rebalance.
                await Task.Delay(500);
                if (replicas.Count(r => r.IsLeader) == 1 && leaders[0].IsLeader)
                {
                    return leaders[0];
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("no single leader emerged: " + string.Join(", ", replicas.Select(r => $"{r.Identity}={r.IsLeader} {r.ExecuteTask?.Exception}")) + " log: " + string.Join(" / ", s_log.Lines));
    }
}
