using Confluent.Kafka;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tao.Capture;
using Tao.Capture.Sinks;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Flywheel;

/// <summary>
/// Kafka mode (Helicone-style): consumes the captures topic as a consumer group and writes the records to ClickHouse,
/// committing offsets only after the insert, so gateways need no ClickHouse credentials and nothing is lost. Replays
/// after a crash collapse in the ReplacingMergeTree.
/// </summary>
public sealed partial class KafkaIngestService(IOptions<FlywheelOptions> options, ClickHouseStore store, ILogger<KafkaIngestService> logger) : BackgroundService
{
    public long Ingested { get; private set; }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Factory.StartNew(() => Run(stoppingToken), TaskCreationOptions.LongRunning);

    private void Run(CancellationToken stoppingToken)
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
        var table = $"{store.Database}.{CapturesTable.Name}";
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
                    var rows = new List<object[]>();
                    foreach (var message in batch)
                    {
                        try
                        {
                            rows.Add(ClickHouseSink.ToRow(CaptureJson.Deserialize(message.Message.Value)));
                        }
                        catch (System.Text.Json.JsonException e)
                        {
                            LogUnreadable(logger, message.TopicPartitionOffset.ToString(), e.Message);
                        }
                    }

                    store.Client.InsertBinaryAsync(table, CapturesTable.InsertColumns, rows, cancellationToken: stoppingToken).GetAwaiter().GetResult();
                    consumer.Commit(batch.Select(b => new TopicPartitionOffset(b.TopicPartition, b.Offset + 1)));
                    Ingested += rows.Count;
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
                stoppingToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(1)); // uncommitted: the batch is consumed again (shutdown does not wait)
                batch.Clear();
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
