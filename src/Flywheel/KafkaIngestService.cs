using Confluent.Kafka;
using Microsoft.Extensions.Options;
using Tao.Capture.Sinks;
using Tao.Storage;

namespace Tao.Flywheel;

/// <summary>
/// Kafka mode (Helicone-style): consumes the captures topic as a consumer group and writes the records to ClickHouse,
/// committing offsets only after the insert, so gateways need no ClickHouse credentials and nothing is lost. Replays
/// after a crash collapse in the ReplacingMergeTree. Consuming blocks (librdkafka polls for at most 200 ms); inserting
/// and waiting after a failure are awaited, the wait on the injected clock and ended by shutdown.
/// </summary>
internal sealed partial class KafkaIngestService(IOptions<FlywheelOptions> options, ClickHouseStore store, TimeProvider time,
    ILogger<KafkaIngestService> logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public long Ingested { get; private set; }

    // Off the caller's thread: the host's start must not wait for the first poll.
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() => RunAsync(stoppingToken), CancellationToken.None);

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.KafkaIngest;
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = settings.BootstrapServers,
            GroupId = settings.GroupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(settings.Topic);
        var batch = new List<ConsumeResult<string, byte[]>>();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result?.Message is not null)
                {
                    batch.Add(result);
                }

                if (batch.Count >= 5000 || (batch.Count > 0 && result is null))
                {
                    var insert = await ClickHouseSink.InsertCapturesAsync(store, batch.Select(b => (ReadOnlyMemory<byte>)b.Message.Value).ToList(), stoppingToken);
                    foreach (var (index, reason) in insert.SetAside)
                    {
                        LogUnreadable(logger, batch[index].TopicPartitionOffset.ToString(), reason);
                    }

                    consumer.Commit(batch.Select(b => new TopicPartitionOffset(b.TopicPartition, b.Offset + 1)));
                    Ingested += insert.Inserted;
                    batch.Clear();
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception e) when (e is ConsumeException or KafkaException or HttpRequestException)
            {
                LogIngestFailed(logger, e);
                batch.Clear(); // uncommitted: the batch is consumed again after the seek below
                try
                {
                    await Task.Delay(RetryDelay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break; // shutdown does not wait out the delay
                }

                consumer.Assignment.ForEach(p => consumer.Seek(consumer.Committed([p], TimeSpan.FromSeconds(5)).FirstOrDefault() ?? new TopicPartitionOffset(p, Offset.Beginning)));
            }
        }

        consumer.Close();
    }

    [LoggerMessage(EventId = 3300, Level = LogLevel.Error, Message = "Unreadable capture at {Position}: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string position, string reason);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Kafka ingest failed; retrying from the committed offsets")]
    private static partial void LogIngestFailed(ILogger logger, Exception exception);
}
