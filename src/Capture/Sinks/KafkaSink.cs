using Confluent.Kafka;
using Tao.Capture.Spool;

namespace Tao.Capture.Sinks;

/// <summary>
/// Publishes capture records to Kafka with one idempotent producer: key = request id, value = the record's JSON.
/// A batch counts as persisted only when every delivery report says the broker acknowledged it (acks=all), and
/// only then does the spool position advance. While brokers are down the producer retries without a deadline,
/// and idempotence keeps those retries from writing duplicates.
/// </summary>
internal sealed class KafkaSink : ICaptureSink
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly KafkaSinkOptions _options;
    private int _disposed;

    public KafkaSink(KafkaSinkOptions options)
    {
        _options = options;
        var config = new ProducerConfig
        {
            BootstrapServers = options.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            MessageTimeoutMs = 0, // never expire: the spool already bounds what waits, and expiry would force a resend
            LingerMs = 5,
            CompressionType = CompressionType.Zstd,
            ClientId = "tao-gateway",
        };
        foreach (var (key, value) in options.Producer)
        {
            config.Set(key, value);
        }

        _producer = new ProducerBuilder<string, byte[]>(config).Build();
    }

    public string Name => "kafka";

    public int MaxBatchRecords => _options.MaxBatchRecords;

    public TimeSpan Linger => TimeSpan.Zero;

    public async Task DeliverAsync(IReadOnlyList<SpoolEntry> batch, CancellationToken cancellationToken)
    {
        var deliveries = new Task<DeliveryResult<string, byte[]>>[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var message = new Message<string, byte[]> { Key = batch[i].Key.ToString(), Value = batch[i].Payload.ToArray() };
            var topic = FeedbackJson.IsFeedback(batch[i].Payload.Span) ? _options.FeedbackTopic : _options.Topic;
            deliveries[i] = _producer.ProduceAsync(topic, message, CancellationToken.None);
        }

        List<(SpoolEntry, string)>? poison = null;
        Exception? transient = null;
        for (var i = 0; i < deliveries.Length; i++)
        {
            try
            {
                var result = await deliveries[i].WaitAsync(cancellationToken).ConfigureAwait(false);
                if (result.Status != PersistenceStatus.Persisted)
                {
                    transient ??= new KafkaException(ErrorCode.Local_MsgTimedOut);
                }
            }
            catch (ProduceException<string, byte[]> e) when (IsPermanent(e.Error.Code))
            {
                (poison ??= []).Add((batch[i], e.Error.Reason));
            }
            catch (ProduceException<string, byte[]> e)
            {
                transient ??= e;
            }
        }

        if (transient is not null)
        {
            throw transient;
        }

        if (poison is not null)
        {
            throw new PoisonRecordsException(poison);
        }
    }

    private static bool IsPermanent(ErrorCode code) =>
        code is ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidMsg or ErrorCode.InvalidRecord;

    public Task<bool> CheckAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var admin = new DependentAdminClientBuilder(_producer.Handle).Build();
            var metadata = admin.GetMetadata(_options.Topic, TimeSpan.FromSeconds(2));
            return Task.FromResult(metadata.Brokers.Count > 0);
        }
        catch (KafkaException)
        {
            return Task.FromResult(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
        return ValueTask.CompletedTask;
    }
}
