using Confluent.Kafka;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Tao.Bench;
using Tao.Capture.Sinks;
using Tao.Capture.Spool;

namespace Tao.Capture.Tests.Sinks;

/// <summary>The Kafka sink against librdkafka's mock cluster: the real protocol, with brokers taken down on purpose.</summary>
public sealed class KafkaSinkTests
{
    [Fact]
    public async Task Shipper_PublishesEveryRecordKeyedByRequestId()
    {
        using var cluster = new KafkaMockCluster();
        var topic = "captures-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic);
        using var spool = new CaptureSpool(new SpoolOptions { Path = TestEngine.NewFolder("kspool"), SegmentBytes = 256 * 1024, FlushPolicy = SpoolFlushPolicy.None });
        var sink = new KafkaSink(new KafkaSinkOptions { Enabled = true, BootstrapServers = cluster.BootstrapServers, Topic = topic });
        var shipper = new SinkShipper(spool, sink, NullLogger<SinkShipper>.Instance, TimeProvider.System);
        await shipper.StartAsync(CancellationToken.None);

        var records = Enumerable.Range(0, 300).Select(i => Records.New(i)).ToList();
        foreach (var record in records)
        {
            spool.Append(record.RequestId, CaptureJson.Serialize(record));
        }

        await WaitUntilAsync(() => shipper.Status.CommittedPosition == spool.End);
        await shipper.StopAsync(CancellationToken.None);
        await sink.DisposeAsync();
        await sink.DisposeAsync(); // a second owner letting go must be harmless

        var consumed = Consume(cluster, topic, expected: records.Count);
        Assert.Equal(records.Select(r => r.RequestId.ToString()).Order(), consumed.Select(m => m.Key).Order());
        var first = consumed.Single(m => m.Key == records[0].RequestId.ToString());
        Assert.Equal(records[0].Prompt, CaptureJson.Deserialize(first.Value).Prompt);
    }

    [Fact]
    public async Task Feedback_GoesToItsOwnTopic_AndSurvivesTheBrokersBeingDown()
    {
        using var cluster = new KafkaMockCluster();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic("captures-" + suffix);
        cluster.CreateTopic("feedback-" + suffix);
        using var spool = new CaptureSpool(new SpoolOptions { Path = TestEngine.NewFolder("kspool"), SegmentBytes = 256 * 1024, FlushPolicy = SpoolFlushPolicy.None });
        var sink = new KafkaSink(new KafkaSinkOptions { Enabled = true, BootstrapServers = cluster.BootstrapServers, Topic = "captures-" + suffix, FeedbackTopic = "feedback-" + suffix });
        var shipper = new SinkShipper(spool, sink, NullLogger<SinkShipper>.Instance, TimeProvider.System);
        await shipper.StartAsync(CancellationToken.None);

        var call = Records.New(1);
        spool.Append(call.RequestId, CaptureJson.Serialize(call));
        await WaitUntilAsync(() => shipper.Status.CommittedPosition == spool.End);
        cluster.SetAllBrokers(up: false);
        var feedback = new FeedbackRecord { FeedbackId = Guid.NewGuid(), TargetId = call.RequestId.ToString(), Metric = "thumbs_up", ValueKind = "boolean", Value = 1, ApiKeyId = "key_support" };
        spool.Append(feedback.FeedbackId, FeedbackJson.Serialize(feedback)); // posted while Kafka is away
        await Task.Delay(1000);
        Assert.True(shipper.Status.CommittedPosition < spool.End);
        cluster.SetAllBrokers(up: true);
        await WaitUntilAsync(() => shipper.Status.CommittedPosition == spool.End, TimeSpan.FromSeconds(60));
        await shipper.StopAsync(CancellationToken.None);
        await sink.DisposeAsync();

        var consumed = Assert.Single(Consume(cluster, "feedback-" + suffix, expected: 1));
        Assert.Equal(feedback.FeedbackId.ToString(), consumed.Key);
        Assert.Equal(call.RequestId.ToString(), FeedbackJson.Deserialize(consumed.Value).TargetId);
        Assert.Single(Consume(cluster, "captures-" + suffix, expected: 1)); // and nothing else went to the captures topic
    }

    [Fact]
    public async Task BrokersDownForAWhile_LoseNothingAndDuplicateNothing()
    {
        using var cluster = new KafkaMockCluster();
        var topic = "outage-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic);
        using var spool = new CaptureSpool(new SpoolOptions { Path = TestEngine.NewFolder("kspool"), SegmentBytes = 256 * 1024, FlushPolicy = SpoolFlushPolicy.None });
        var sink = new KafkaSink(new KafkaSinkOptions { Enabled = true, BootstrapServers = cluster.BootstrapServers, Topic = topic, MaxBatchRecords = 50 });
        var shipper = new SinkShipper(spool, sink, NullLogger<SinkShipper>.Instance, TimeProvider.System);
        await shipper.StartAsync(CancellationToken.None);
        var keys = new List<string>();

        void Append(int count)
        {
            for (var i = 0; i < count; i++)
            {
                var record = Records.New(keys.Count);
                keys.Add(record.RequestId.ToString());
                spool.Append(record.RequestId, CaptureJson.Serialize(record));
            }
        }

        Append(200);
        await WaitUntilAsync(() => shipper.Status.CommittedPosition == spool.End);
        cluster.SetAllBrokers(up: false);
        for (var second = 0; second < 3; second++)
        {
            Append(100); // the proxy keeps capturing into the spool while Kafka is away
            await Task.Delay(1000);
        }

        Assert.True(shipper.Status.CommittedPosition < spool.End, "nothing can be committed while every broker is down");
        cluster.SetAllBrokers(up: true);
        Append(200);
        await WaitUntilAsync(() => shipper.Status.CommittedPosition == spool.End, TimeSpan.FromSeconds(60));
        await shipper.StopAsync(CancellationToken.None);
        await sink.DisposeAsync();

        var consumed = Consume(cluster, topic, expected: keys.Count).Select(m => m.Key).ToList();
        Assert.Equal(keys.Count, consumed.Count);
        Assert.Equal(keys.Order(), consumed.Order());
    }

    [Fact]
    public async Task CaptureServices_WithTheKafkaSink_StopAndReleaseCleanly_AndShipOnTheWay()
    {
        // The shippers' host and the container both released the sink: the second flushed a disposed producer, and
        // every gateway with the Kafka sink on ended with an unhandled exception at shutdown.
        using var cluster = new KafkaMockCluster();
        var topic = "captures-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tao:Capture:Spool:Path"] = TestEngine.NewFolder("hspool"),
            ["Tao:Capture:ClickHouse:Enabled"] = "false",
            ["Tao:Capture:Kafka:Enabled"] = "true",
            ["Tao:Capture:Kafka:BootstrapServers"] = cluster.BootstrapServers,
            ["Tao:Capture:Kafka:Topic"] = topic,
        }).Build();
        var services = new ServiceCollection().AddLogging().AddTaoCapture(configuration);
        var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        var record = Records.New(1);
        provider.GetRequiredService<CaptureSpool>().Append(record.RequestId, CaptureJson.Serialize(record));
        var shipper = Assert.Single(provider.GetRequiredService<IReadOnlyList<SinkShipper>>());
        await WaitUntilAsync(() => shipper.Status.CommittedPosition == provider.GetRequiredService<CaptureSpool>().End);
        foreach (var service in hosted)
        {
            await service.StopAsync(CancellationToken.None);
        }

        await provider.DisposeAsync(); // threw ObjectDisposedException from Producer.Flush

        Assert.Equal(record.RequestId.ToString(), Assert.Single(Consume(cluster, topic, expected: 1)).Key);
    }

    private static List<Message<string, byte[]>> Consume(KafkaMockCluster cluster, string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = cluster.BootstrapServers,
            GroupId = "verify-" + Guid.NewGuid(),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var messages = new List<Message<string, byte[]>>();
        var quietUntil = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < quietUntil)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (result?.Message is { } message)
            {
                messages.Add(message);
                // Once everything expected arrived, keep reading briefly to catch any duplicate.
                if (messages.Count >= expected)
                {
                    quietUntil = DateTime.UtcNow.AddSeconds(2);
                }
            }
        }

        consumer.Close();
        return messages;
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met in time");
            }

            await Task.Delay(50);
        }
    }
}
