using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Tao.Capture.Sinks;
using Tao.Capture.Spool;

namespace Tao.Capture.Tests.Sinks;

/// <summary>
/// The shipper's linger and backoff on a fake clock: each test moves time to just before the moment the shipper should
/// act and checks that it has not, then to the moment itself and checks that it does. No test waits for a linger or a
/// backoff to pass.
/// </summary>
public sealed class SinkShipperClockTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task ABatchThatIsNotFull_WaitsOutTheLinger_CountedFromTheLastDelivery()
    {
        var clock = new ObservedClock();
        var sink = new RecordingSink(TimeSpan.FromSeconds(1));
        using var spool = NewSpool();
        using var shipper = new SinkShipper(spool, sink, NullLogger<SinkShipper>.Instance, clock);
        await shipper.StartAsync(CancellationToken.None);
        try
        {
            spool.Append(Guid.NewGuid(), Payload(1));
            Assert.Equal(1, await sink.NextAttemptAsync()); // nothing was delivered within a linger: the first batch goes at once

            spool.Append(Guid.NewGuid(), Payload(2));
            spool.Append(Guid.NewGuid(), Payload(3));
            await clock.NextTimerAsync();
            clock.Advance(TimeSpan.FromMilliseconds(999));
            Assert.False(await sink.AttemptWithinAsync(Quiet), "shipped before the linger had passed");

            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.Equal(2, await sink.NextAttemptAsync()); // both records that arrived meanwhile, in one batch
        }
        finally
        {
            await shipper.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task AFailingSink_IsRetriedAfterABackoffThatDoubles_ThenTheBatchIsDelivered()
    {
        var clock = new ObservedClock();
        var sink = new RecordingSink(TimeSpan.Zero) { FailuresLeft = 2 };
        using var spool = NewSpool();
        using var shipper = new SinkShipper(spool, sink, NullLogger<SinkShipper>.Instance, clock);
        await shipper.StartAsync(CancellationToken.None);
        try
        {
            spool.Append(Guid.NewGuid(), Payload(1));
            Assert.Equal(RecordingSink.Failed, await sink.NextAttemptAsync());

            foreach (var backoff in new[] { 100, 200 })
            {
                await clock.NextTimerAsync();
                clock.Advance(TimeSpan.FromMilliseconds(backoff - 1));
                Assert.False(await sink.AttemptWithinAsync(Quiet), $"retried before its {backoff} ms backoff");
                clock.Advance(TimeSpan.FromMilliseconds(1));
                var attempt = await sink.NextAttemptAsync();
                Assert.Equal(backoff == 100 ? RecordingSink.Failed : 1, attempt);
            }

            Assert.Equal(2, shipper.Status.FailedAttempts);
            await WaitUntilAsync(() => shipper.Status is { Healthy: true, Delivered: 1 });
            Assert.Equal(clock.GetUtcNow(), shipper.Status.LastSuccessAt); // stamped by the shipper's clock
        }
        finally
        {
            await shipper.StopAsync(CancellationToken.None);
        }
    }

    private static CaptureSpool NewSpool() => new(new SpoolOptions
    {
        Path = TestEngine.NewFolder("shipper-clock"), SegmentBytes = 64 * 1024, MaxBytes = 1024 * 1024, FlushPolicy = SpoolFlushPolicy.None,
    });

    private static byte[] Payload(int i) => Encoding.UTF8.GetBytes($"record-{i}");

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); !condition(); await Task.Delay(10))
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
        }
    }

    /// <summary>A fake clock that reports each timer created on it, so a test advances time only once the shipper waits on it.</summary>
    private sealed class ObservedClock : FakeTimeProvider
    {
        private readonly SemaphoreSlim _created = new(0);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            _created.Release();
            return timer;
        }

        public async Task NextTimerAsync() =>
            Assert.True(await _created.WaitAsync(TimeSpan.FromSeconds(10)), "the shipper never waited on the clock");
    }

    /// <summary>A sink that reports each delivery attempt (the batch's size, or <see cref="Failed"/>) and can fail the first ones.</summary>
    private sealed class RecordingSink(TimeSpan linger) : ICaptureSink
    {
        public const int Failed = -1;
        private readonly Channel<int> _attempts = Channel.CreateUnbounded<int>();

        public int FailuresLeft { get; set; }
        public string Name => "recording";
        public int MaxBatchRecords => 1000;
        public TimeSpan Linger => linger;

        public Task DeliverAsync(IReadOnlyList<SpoolEntry> batch, CancellationToken cancellationToken)
        {
            if (FailuresLeft > 0)
            {
                FailuresLeft--;
                _attempts.Writer.TryWrite(Failed);
                throw new IOException("sink down");
            }

            _attempts.Writer.TryWrite(batch.Count);
            return Task.CompletedTask;
        }

        public async Task<int> NextAttemptAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await _attempts.Reader.ReadAsync(timeout.Token);
        }

        public async Task<bool> AttemptWithinAsync(TimeSpan wait)
        {
            await Task.Delay(wait);
            return _attempts.Reader.TryPeek(out _);
        }

        public Task<bool> CheckAsync(CancellationToken cancellationToken) => Task.FromResult(true);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
