using Confluent.Kafka;
using Tao.Bench;
using Tao.Capture;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Flywheel.Tests;

/// <summary>Kafka mode: the flywheel consumes the captures topic (librdkafka's mock cluster) and writes ClickHouse, exactly once in effect.</summary>
public sealed class KafkaIngestTests
{
    [Fact]
    public async Task CapturesOnTheTopic_LandInClickHouse_AndAReplayAfterRestartDuplicatesNothing()
    {
        using var cluster = new KafkaMockCluster();
        var topic = "captures-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, partitions: 3);
        await using var store = await ClickHouseStore.OpenAsync(new ClickHouseOptions { EmbeddedPath = TestEngine.EnginePath, Database = TestEngine.NewDatabase("ingest") });
        await new SchemaMigrator(store).MigrateAsync();

        var records = Enumerable.Range(0, 500).Select(i => new CaptureRecord
        {
            RequestId = Guid.CreateVersion7(), StartedAt = DateTime.UtcNow, CompletedAt = DateTime.UtcNow, Endpoint = "chat.completions", Status = 200,
            Model = "m", Task = "t", RequestJson = $$"""{"messages":[{"role":"user","content":"q{{i}}"}]}""", Prompt = $"user: q{i}",
            PromptHash = PromptText.Hash($"user: q{i}"), ResponseText = $"a{i}",
        }).ToList();
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true }).Build())
        {
            foreach (var record in records)
            {
                producer.Produce(topic, new Message<string, byte[]> { Key = record.RequestId.ToString(), Value = CaptureJson.Serialize(record) });
            }

            producer.Produce(topic, new Message<string, byte[]> { Key = "junk", Value = "not a capture"u8.ToArray() });
            producer.Flush(TimeSpan.FromSeconds(30));
        }

        var settings = new Dictionary<string, string?>
        {
            ["Tao:Flywheel:Urls"] = "http://127.0.0.1:0",
            ["Tao:Flywheel:WorkPath"] = TestEngine.NewFolder("ingest-work"),
            ["Tao:Flywheel:RegistryPath"] = TestEngine.NewFolder("ingest-registry"),
            ["Tao:Flywheel:KafkaIngest:Enabled"] = "true",
            ["Tao:Flywheel:KafkaIngest:BootstrapServers"] = cluster.BootstrapServers,
            ["Tao:Flywheel:KafkaIngest:Topic"] = topic,
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        await using (var first = FlywheelApp.Build(configuration, store))
        {
            await first.StartAsync();
            await WaitForRowsAsync(store, records.Count);
            await first.StopAsync();
        }

        // A second consumer in a new group reads the whole topic again: the table still holds each record once.
        settings["Tao:Flywheel:KafkaIngest:GroupId"] = "replay";
        await using (var second = FlywheelApp.Build(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), store))
        {
            await second.StartAsync();
            await Task.Delay(3000);
            await second.StopAsync();
        }

        Assert.Equal(records.Count, Convert.ToInt64(await store.Client.ExecuteScalarAsync($"SELECT count() FROM {store.Database}.{CapturesTable.Name} FINAL")));
        Assert.Equal(records.Count, Convert.ToInt64(await store.Client.ExecuteScalarAsync($"SELECT uniqExact(request_id) FROM {store.Database}.{CapturesTable.Name}")));
        Assert.Equal(records.Count, await new CaptureReader(store).CountNewAsync(["t"], DateTime.UnixEpoch, default));
    }

    private static async Task WaitForRowsAsync(ClickHouseStore store, int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        long rows = 0;
        while (DateTime.UtcNow < deadline)
        {
            rows = Convert.ToInt64(await store.Client.ExecuteScalarAsync($"SELECT uniqExact(request_id) FROM {store.Database}.{CapturesTable.Name}"));
            if (rows >= expected)
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{rows} of {expected} captures arrived");
    }
}
