using System.Text;
using Tao.Capture.Spool;

namespace Tao.Capture.Tests.Spool;

public sealed class SpoolTests
{
    private static SpoolOptions Options(string path, long segment = 64 * 1024, long max = 1024 * 1024) =>
        new() { Path = path, SegmentBytes = segment, MaxBytes = max, FlushPolicy = SpoolFlushPolicy.None };

    private static byte[] Payload(int i, int size = 100) => Encoding.UTF8.GetBytes($"record-{i:D6}-" + new string('x', size));

    [Fact]
    public void Append_ThenRead_ReturnsRecordsInOrderAcrossSegments()
    {
        var folder = TestEngine.NewFolder("spool");
        using var spool = new CaptureSpool(Options(folder));
        var keys = new List<Guid>();
        for (var i = 0; i < 2000; i++)
        {
            var key = Guid.NewGuid();
            keys.Add(key);
            Assert.True(spool.Append(key, Payload(i)) >= 0);
        }

        var entries = ReadAll(spool, spool.RegisterSink("test"));

        Assert.Equal(2000, entries.Count);
        Assert.Equal(keys, entries.Select(e => e.Key));
        Assert.Equal(Payload(1999), entries[^1].Payload.ToArray());
        Assert.True(Directory.GetFiles(folder, "*.seg").Length > 1, "records should span several segments");
    }

    [Fact]
    public void Reopen_ResumesEachSinkAtItsCommittedPosition()
    {
        var folder = TestEngine.NewFolder("spool");
        long committed;
        using (var spool = new CaptureSpool(Options(folder)))
        {
            spool.RegisterSink("a");
            spool.RegisterSink("b");
            for (var i = 0; i < 100; i++)
            {
                spool.Append(Guid.NewGuid(), Payload(i));
            }

            var firstFifty = spool.Read(spool.CommittedPosition("a"), 50, long.MaxValue);
            committed = firstFifty[^1].Next;
            spool.Commit("a", committed);
        }

        using var reopened = new CaptureSpool(Options(folder));
        Assert.Equal(committed, reopened.RegisterSink("a"));
        var restA = ReadAll(reopened, reopened.CommittedPosition("a"));
        var allB = ReadAll(reopened, reopened.RegisterSink("b"));
        Assert.Equal(50, restA.Count);
        Assert.Equal(Payload(50), restA[0].Payload.ToArray());
        Assert.Equal(100, allB.Count);
    }

    [Fact]
    public void TornTail_IsDetectedAndSkipped_AndAppendingContinues()
    {
        var folder = TestEngine.NewFolder("spool");
        using (var spool = new CaptureSpool(Options(folder)))
        {
            for (var i = 0; i < 10; i++)
            {
                spool.Append(Guid.NewGuid(), Payload(i));
            }
        }

        // A crash in the middle of the last append: its payload is half there and its checksum does not match.
        var segment = Directory.GetFiles(folder, "*.seg").Single();
        var bytes = File.ReadAllBytes(segment);
        var last = LastRecordOffset(bytes);
        bytes[last + SpoolSegment.RecordHeaderBytes + 20] ^= 0xFF;
        File.WriteAllBytes(segment, bytes);

        using var reopened = new CaptureSpool(Options(folder));
        Assert.True(reopened.CorruptBytesSkipped == 0, "a torn tail is an end, not skipped bytes in the middle");
        reopened.Append(Guid.NewGuid(), Payload(99));
        var entries = ReadAll(reopened, reopened.RegisterSink("s"));
        Assert.Equal(10, entries.Count); // 9 intact + the new one
        Assert.Equal(Payload(8), entries[8].Payload.ToArray());
        Assert.Equal(Payload(99), entries[9].Payload.ToArray());
    }

    [Fact]
    public void CorruptRecordInTheMiddle_IsSkipped_AndTheRecordsAfterItAreKept()
    {
        var folder = TestEngine.NewFolder("spool");
        using (var spool = new CaptureSpool(Options(folder)))
        {
            for (var i = 0; i < 10; i++)
            {
                spool.Append(Guid.NewGuid(), Payload(i));
            }
        }

        // Power loss can persist a later page but not an earlier one: record 4 reads as zeros.
        var segment = Directory.GetFiles(folder, "*.seg").Single();
        var bytes = File.ReadAllBytes(segment);
        var offset = SpoolSegment.HeaderBytes;
        var footprint = SpoolSegment.Footprint(Payload(0).Length);
        Array.Clear(bytes, offset + 4 * footprint, footprint);
        File.WriteAllBytes(segment, bytes);

        using var reopened = new CaptureSpool(Options(folder));
        var entries = ReadAll(reopened, reopened.RegisterSink("s"));

        Assert.Equal(9, entries.Count);
        Assert.DoesNotContain(entries, e => e.Payload.Span.SequenceEqual(Payload(4)));
        Assert.Equal(Payload(9), entries[^1].Payload.ToArray());
        Assert.Equal(footprint, reopened.CorruptBytesSkipped);
    }

    [Fact]
    public void DiskBudgetExhausted_DropsAndCounts_ThenRecoversOnceSinksCatchUp()
    {
        var folder = TestEngine.NewFolder("spool");
        using var spool = new CaptureSpool(Options(folder, segment: 64 * 1024, max: 128 * 1024));
        spool.RegisterSink("slow");
        var appended = 0;
        for (var i = 0; i < 2000; i++)
        {
            if (spool.Append(Guid.NewGuid(), Payload(i)) >= 0)
            {
                appended++;
            }
        }

        Assert.True(spool.IsFull);
        Assert.Equal(2000 - appended, spool.Dropped);
        Assert.True(spool.BytesOnDisk <= 128 * 1024);

        var entries = ReadAll(spool, spool.CommittedPosition("slow"));
        Assert.Equal(appended, entries.Count);
        spool.Commit("slow", entries[^1].Next);

        Assert.True(spool.Append(Guid.NewGuid(), Payload(0)) >= 0);
        Assert.False(spool.IsFull);
    }

    [Fact]
    public void Segments_AreDeletedOnlyOnceEverySinkHasPassedThem()
    {
        var folder = TestEngine.NewFolder("spool");
        using var spool = new CaptureSpool(Options(folder));
        spool.RegisterSink("fast");
        spool.RegisterSink("slow");
        for (var i = 0; i < 2000; i++)
        {
            spool.Append(Guid.NewGuid(), Payload(i));
        }

        var segments = Directory.GetFiles(folder, "*.seg").Length;
        spool.Commit("fast", spool.End);
        Assert.Equal(segments, Directory.GetFiles(folder, "*.seg").Length);

        spool.Commit("slow", spool.End);
        Assert.Single(Directory.GetFiles(folder, "*.seg"));
    }

    [Fact]
    public async Task Appends_DoNotWaitForDiskSyncsInProgress()
    {
        // The proxy appends on its request path. A flush (msync) or a sink's cursor commit (fsync) can take seconds on
        // a disk the store is busy writing; appends must not queue behind them (they did, and it showed as p99 stalls).
        var folder = TestEngine.NewFolder("spool");
        using var spool = new CaptureSpool(new SpoolOptions
        {
            Path = folder, SegmentBytes = 64 * 1024, MaxBytes = 1024 * 1024, FlushPolicy = SpoolFlushPolicy.Interval, FlushIntervalMs = 3_600_000,
        });
        spool.RegisterSink("sink");
        for (var i = 0; i < 500; i++)
        {
            spool.Append(Guid.NewGuid(), Payload(i));
        }

        var committed = spool.End;
        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var holder = new Thread(() =>
        {
            lock (spool.DurableGate)
            {
                held.Set();
                release.Wait();
            }
        });
        holder.Start();
        held.Wait();

        var flush = Task.Factory.StartNew(spool.Flush, TaskCreationOptions.LongRunning);
        var commit = Task.Factory.StartNew(() => spool.Commit("sink", committed), TaskCreationOptions.LongRunning);
        var appends = Task.Factory.StartNew(() =>
        {
            for (var i = 500; i < 1500; i++)
            {
                spool.Append(Guid.NewGuid(), Payload(i)); // rolls into new segments too
            }
        }, TaskCreationOptions.LongRunning);
        try
        {
            await appends.WaitAsync(TimeSpan.FromSeconds(30)); // throws TimeoutException when appends wait for the sync
            Assert.False(commit.IsCompleted, "the commit should still be waiting to write its cursor");
        }
        finally
        {
            release.Set();
            holder.Join();
        }

        await Task.WhenAll(flush, commit).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1000, ReadAll(spool, committed).Count);
        Assert.Equal(committed, spool.CommittedPosition("sink"));
    }

    [Fact]
    public async Task WaitForData_CompletesWhenARecordIsAppended()
    {
        using var spool = new CaptureSpool(Options(TestEngine.NewFolder("spool")));
        var position = spool.End;
        var wait = spool.WaitForDataAsync(position, CancellationToken.None);
        Assert.False(wait.IsCompleted);

        spool.Append(Guid.NewGuid(), Payload(1));

        await wait.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public void AfterADelivery_TheSegmentsPagesLeaveResidentMemory_AndEveryRecordStillReadsAndSurvivesAReopen()
    {
        // The gateway's RSS under load counted every page its segment ever touched (up to 64 MiB a segment) until the
        // segment was retired. Now a commit hands them back; the bytes are still the page cache's and the file's.
        var folder = TestEngine.NewFolder("spool");
        var options = Options(folder, segment: 32 * 1024 * 1024, max: 64 * 1024 * 1024);
        var sink = "sink";
        using (var spool = new CaptureSpool(options))
        {
            var from = spool.RegisterSink(sink);
            for (var i = 0; i < 8_000; i++)
            {
                Assert.True(spool.Append(Guid.NewGuid(), Payload(i, size: 1000)) >= 0);
            }

            var written = ResidentKiB(folder);
            Assert.True(written > 6 * 1024, $"8 MB appended should be resident before a delivery, {written} KiB is");

            var entries = ReadAll(spool, from);
            spool.Commit(sink, entries[4_000].Position); // half delivered: nothing is retired, the pages still go
            var released = ResidentKiB(folder);
            Assert.True(released < 5 * 1024,
                $"after a commit only the page being written and the 4 MiB mapped ahead of it should stay resident, {released} KiB did");

            var again = ReadAll(spool, entries[4_000].Position);
            Assert.Equal(4_000, again.Count);
            Assert.Equal(Payload(7_999, size: 1000), again[^1].Payload.ToArray());
        }

        using var reopened = new CaptureSpool(options);
        Assert.True(ResidentKiB(folder) < 1024, "recovery scans the whole segment through the mapping, and lets go of it after");
        var left = ReadAll(reopened, reopened.RegisterSink(sink));
        Assert.Equal(4_000, left.Count);
        Assert.Equal(Payload(4_000, size: 1000), left[0].Payload.ToArray());
    }

    [Fact]
    public async Task Appends_WriteIntoPagesMappedAheadOfThem_WithoutFaultingThemIn()
    {
        // An append's first write to a page took the page fault (allocate, zero, reserve the block) under the spool's
        // lock; the sync thread now maps the pages ahead of the writer. Counted by the appending thread's own minor faults.
        var folder = TestEngine.NewFolder("spool");
        using var spool = new CaptureSpool(Options(folder, segment: 32 * 1024 * 1024, max: 64 * 1024 * 1024));
        var payload = Payload(0, size: 1000);
        spool.Append(Guid.NewGuid(), payload);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (ResidentKiB(folder) < 3 * 1024 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(ResidentKiB(folder) >= 3 * 1024, $"the pages ahead of the writer should be mapped, {ResidentKiB(folder)} KiB are");
        var before = ThreadMinorFaults();
        for (var i = 0; i < 2_500; i++)
        {
            spool.Append(Guid.NewGuid(), payload); // ~2.6 MB: 640 pages that each faulted before
        }

        var faults = ThreadMinorFaults() - before;
        Assert.True(faults < 100, $"appends into mapped pages should not fault them in, {faults} faults did");
    }

    [Fact]
    public async Task CommitAsync_ReturnsWhileTheDiskSyncs_AndTheCursorIsOnDiskWhenItCompletes()
    {
        // A shipper's commit (the cursor's fsync, deleting retired segments) held a thread-pool thread while the disk
        // wrote; it runs on the spool's sync thread now.
        var folder = TestEngine.NewFolder("spool");
        long committed;
        using (var spool = new CaptureSpool(Options(folder)))
        {
            spool.RegisterSink("sink");
            for (var i = 0; i < 2000; i++)
            {
                spool.Append(Guid.NewGuid(), Payload(i));
            }

            committed = spool.End;
            Task commit;
            lock (spool.DurableGate) // stands in for a disk that takes its time
            {
                commit = spool.CommitAsync("sink", committed);
                Assert.False(commit.IsCompleted, "the commit should wait for the sync on the sync thread, not on its caller");
                Assert.Equal(committed, spool.CommittedPosition("sink"));
            }

            await commit.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Single(Directory.GetFiles(folder, "*.seg")); // the segments every sink passed are gone
        }

        using var reopened = new CaptureSpool(Options(folder));
        Assert.Equal(committed, reopened.RegisterSink("sink"));
    }

    /// <summary>Minor page faults of the calling thread so far (Linux /proc/thread-self/stat, field 10).</summary>
    private static long ThreadMinorFaults()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void ReadingIntoAReusedBatch_GivesEveryRecordIntact_BatchAfterBatchAcrossSegments()
    {
        using var spool = new CaptureSpool(Options(TestEngine.NewFolder("spool")));
        var from = spool.RegisterSink("sink");
        for (var i = 0; i < 2000; i++)
        {
            spool.Append(Guid.NewGuid(), Payload(i, size: 10 + i % 700)); // ~750 KB: a dozen 64 KiB segments
        }

        var batch = new SpoolBatch();
        var seen = 0;
        for (var position = from; ; position = batch.Entries[^1].Next)
        {
            spool.Read(position, 300, long.MaxValue, batch);
            if (batch.Entries.Count == 0)
            {
                break;
            }

            foreach (var entry in batch.Entries)
            {
                Assert.Equal(Payload(seen, size: 10 + seen % 700), entry.Payload.ToArray());
                seen++;
            }
        }

        Assert.Equal(2000, seen);
    }

    [Fact]
    public async Task ABatchsPayloads_StayReadable_AfterTheirSegmentIsRetiredAndTheSpoolDisposed_UntilTheBatchIsCleared()
    {
        // The batch borrows its payloads from the segments' mappings: a commit that retires a segment (its file
        // deleted) or the spool's disposal while a delivery still streams them must not unmap them under it.
        var folder = TestEngine.NewFolder("spool");
        var spool = new CaptureSpool(Options(folder));
        var from = spool.RegisterSink("sink");
        for (var i = 0; i < 400; i++)
        {
            spool.Append(Guid.NewGuid(), Payload(i, size: 500)); // ~210 KB: four 64 KiB segments
        }

        var batch = new SpoolBatch();
        spool.Read(from, 150, long.MaxValue, batch);
        Assert.Equal(150, batch.Entries.Count);
        var firstSegment = Path.Combine(folder, SpoolSegment.FileName(0));
        Assert.True(File.Exists(firstSegment));

        await spool.CommitAsync("sink", batch.Entries[^1].Next);
        Assert.False(File.Exists(firstSegment)); // retired: every sink has passed it
        for (var i = 0; i < 150; i++)
        {
            Assert.Equal(Payload(i, size: 500), batch.Entries[i].Payload.ToArray());
        }

        spool.Dispose();
        for (var i = 0; i < 150; i++)
        {
            Assert.Equal(Payload(i, size: 500), batch.Entries[i].Payload.ToArray());
        }

        batch.Clear();
        Assert.Empty(batch.Entries);
        var after = new SpoolBatch();
        spool.Read(from, 10, long.MaxValue, after); // a disposed spool reads nothing rather than unmapped memory
        Assert.Empty(after.Entries);
    }

    /// <summary>Resident KiB of this process's mappings of the spool's segment files (Linux /proc/self/smaps).</summary>
    private static long ResidentKiB(string folder)
    {
        long total = 0;
        var inSegment = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.Length > 0 && char.IsAsciiHexDigit(line[0]) && line.Contains('-', StringComparison.Ordinal) && line.Contains(' ', StringComparison.Ordinal))
            {
                inSegment = line.Contains(folder, StringComparison.Ordinal) && line.EndsWith(".seg", StringComparison.Ordinal);
            }
            else if (inSegment && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                total += long.Parse(line.AsSpan(4).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    internal static List<SpoolEntry> ReadAll(CaptureSpool spool, long from)
    {
        var all = new List<SpoolEntry>();
        var position = from;
        while (true)
        {
            var batch = spool.Read(position, 100, long.MaxValue);
            if (batch.Count == 0)
            {
                return all;
            }

            all.AddRange(batch);
            position = batch[^1].Next;
        }
    }

    private static int LastRecordOffset(byte[] segment)
    {
        var offset = SpoolSegment.HeaderBytes;
        var last = offset;
        while (BitConverter.ToUInt32(segment, offset) == 0x314F4154)
        {
            last = offset;
            offset += SpoolSegment.Footprint((int)BitConverter.ToUInt32(segment, offset + 4));
        }

        return last;
    }
}
