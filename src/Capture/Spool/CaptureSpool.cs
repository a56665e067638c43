namespace Tao.Capture.Spool;

/// <summary>
/// The durable local log between the proxy and the sinks. The proxy appends (never waits on a sink); each sink's
/// shipper reads from its own committed position and commits after the sink has persisted a batch, so every sink
/// resumes where it stopped after a crash or an outage. Segments every sink has passed are deleted.
/// </summary>
public sealed class CaptureSpool : IDisposable
{
    private const string SpareName = "next.spare";

    // How far ahead of the write position the pages are mapped writable off the request path (see SpoolSegment.Prefault).
    private const long PrefaultAheadBytes = 4 * 1024 * 1024;
    private readonly SpoolOptions _options;
    private readonly Lock _gate = new();

    // Disk syncs (msync of segments, cursor files, deleting retired segments) take this lock, never _gate: an
    // append must not wait behind a sync that a busy disk can stretch to seconds. They run on _sync's thread, never a
    // request's.
    private readonly Lock _durableGate = new();
    private readonly List<SpoolSegment> _segments = [];
    private readonly SpoolCursors _cursors;
    private readonly HashSet<string> _sinks = new(StringComparer.Ordinal);
    private readonly SpoolSyncThread _sync;
    private SpoolSegment _active;
    private SpoolSegment? _spare;
    private Task? _preparingSpare;
    private TaskCompletionSource? _appended;
    private bool _prefaultQueued;
    private long _dropped;
    private long _droppedTooLarge;
    private bool _full;
    private bool _disposed;

    public CaptureSpool(SpoolOptions options)
    {
        if (options.SegmentBytes < 64 * 1024 || options.MaxBytes < options.SegmentBytes)
        {
            throw new ArgumentException("spool SegmentBytes must be at least 64 KiB and MaxBytes at least one segment");
        }

        _options = options;
        Directory.CreateDirectory(options.Path);
        _cursors = new SpoolCursors(Path.Combine(options.Path, "cursors"), options.FlushPolicy != SpoolFlushPolicy.None);
        File.Delete(Path.Combine(options.Path, SpareName));
        foreach (var file in Directory.EnumerateFiles(options.Path, "*.seg").Order(StringComparer.Ordinal))
        {
            var segment = SpoolSegment.Open(file);
            CorruptBytesSkipped += segment.CorruptBytesSkipped;
            _segments.Add(segment);
        }

        if (_segments.Count == 0)
        {
            _segments.Add(SpoolSegment.Create(Path.Combine(options.Path, SpoolSegment.FileName(0)), 0, options.SegmentBytes));
        }

        _active = _segments[^1];
        _sync = new SpoolSyncThread(options.FlushPolicy == SpoolFlushPolicy.Interval ? Flush : null, options.FlushIntervalMs);
    }

    private long PrefaultAhead => Math.Min(PrefaultAheadBytes, _options.SegmentBytes / 4);

    /// <summary>Held while syncing to disk; tests hold it to stand in for a sync that a busy disk stretches.</summary>
    internal Lock DurableGate => _durableGate;

    /// <summary>The spool's folder.</summary>
    public string Folder => _options.Path;

    /// <summary>Position of the oldest record still on disk.</summary>
    public long Start
    {
        get { lock (_gate) { return _segments[0].Base; } }
    }

    /// <summary>Position just past the newest record.</summary>
    public long End => _active.End;

    /// <summary>Records dropped because the disk budget was exhausted or the record was larger than a segment.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public long DroppedTooLarge => Interlocked.Read(ref _droppedTooLarge);

    /// <summary>True while records are being dropped for lack of disk budget.</summary>
    public bool IsFull => Volatile.Read(ref _full);

    /// <summary>Bytes of torn or corrupt records skipped while opening the spool after a crash.</summary>
    public long CorruptBytesSkipped { get; }

    /// <summary>Disk the spool's segments take (they are preallocated).</summary>
    public long BytesOnDisk
    {
        get { lock (_gate) { return _segments.Count * _options.SegmentBytes; } }
    }

    /// <summary>
    /// Bytes that can still be appended before the disk budget is exhausted (as if no sink committed meanwhile): the
    /// active segment's room plus the segments the budget still allows (a spare already prepared counts as one).
    /// </summary>
    public long FreeBytes
    {
        get
        {
            lock (_gate)
            {
                var active = _active.Capacity - (_active.End - _active.Base) - SpoolSegment.HeaderBytes;
                var more = (_options.MaxBytes - _segments.Count * _options.SegmentBytes) / _options.SegmentBytes;
                return Math.Max(0, active) + Math.Max(0, more) * (_options.SegmentBytes - SpoolSegment.HeaderBytes);
            }
        }
    }

    /// <summary>
    /// Appends one record. Never blocks on I/O beyond a memory copy (segment files are prepared ahead). Returns
    /// the record's position, or -1 when it was dropped because the disk budget is exhausted.
    /// </summary>
    public long Append(Guid key, ReadOnlySpan<byte> payload)
    {
        long position;
        SpoolSegment segment;
        TaskCompletionSource? wake;
        SpoolSegment? prefault = null;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (SpoolSegment.Footprint(payload.Length) > _options.SegmentBytes - SpoolSegment.HeaderBytes)
            {
                Interlocked.Increment(ref _droppedTooLarge);
                Interlocked.Increment(ref _dropped);
                return -1;
            }

            if (!_active.HasRoomFor(payload.Length) && !TryRoll())
            {
                Interlocked.Increment(ref _dropped);
                _full = true;
                return -1;
            }

            _full = false;
            position = _active.Append(key, payload);
            segment = _active;
            MaybePrepareSpare();
            wake = _appended;
            _appended = null;
            if (!_prefaultQueued && segment.WantsPrefault(PrefaultAhead))
            {
                _prefaultQueued = true;
                prefault = segment;
            }
        }

        if (prefault is not null)
        {
            _sync.Post(() => Prefault(prefault));
        }

        if (_options.FlushPolicy == SpoolFlushPolicy.EveryRecord)
        {
            lock (_durableGate)
            {
                segment.Flush(); // syncs everything appended so far, so concurrent appenders share one msync
            }
        }

        wake?.TrySetResult();
        return position;
    }

    /// <summary>Reads up to the given number of records and bytes, starting at <paramref name="from"/>.</summary>
    public List<SpoolEntry> Read(long from, int maxRecords, long maxBytes)
    {
        var entries = new List<SpoolEntry>();
        Read(from, maxRecords, maxBytes, entries, batch: null);
        return entries;
    }

    /// <summary>Reads into <paramref name="batch"/> (cleared first): payloads borrowed from the segments, see <see cref="SpoolBatch"/>.</summary>
    internal void Read(long from, int maxRecords, long maxBytes, SpoolBatch batch)
    {
        batch.Clear();
        Read(from, maxRecords, maxBytes, batch.Entries, batch);
    }

    private void Read(long from, int maxRecords, long maxBytes, List<SpoolEntry> entries, SpoolBatch? batch)
    {
        long bytes = 0;
        var position = from;
        SpoolSegment? segment = null;
        while (entries.Count < maxRecords && bytes < maxBytes)
        {
            // The segment is looked up (under the lock appends take) only when the position leaves it, not per record.
            // It cannot be retired while this reader is in it: retiring waits for every sink's cursor to pass it.
            if (segment is null || position < segment.Base || position >= segment.End)
            {
                segment = SegmentAt(position, batch);
            }

            if (segment is null)
            {
                break;
            }

            if (position < segment.Base)
            {
                position = segment.Base; // older records were retired: continue with the oldest kept
            }

            if (position >= segment.End)
            {
                if (ReferenceEquals(segment, _active))
                {
                    break;
                }

                position = segment.End; // continue in the next segment, whose base is this end
                if (SegmentAt(position, batch) is not { } next || ReferenceEquals(next, segment))
                {
                    break;
                }

                segment = next;
                continue;
            }

            if (!segment.TryRead(position, batch, out var entry))
            {
                position = segment.End;
                continue;
            }

            entries.Add(entry);
            bytes += entry.Payload.Length;
            position = entry.Next;
        }
    }

    /// <summary>Completes when a record at or after <paramref name="position"/> exists.</summary>
    public Task WaitForDataAsync(long position, CancellationToken cancellationToken)
    {
        Task wait;
        lock (_gate)
        {
            if (End > position || _disposed)
            {
                return Task.CompletedTask;
            }

            _appended ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _appended.Task;
        }

        return wait.WaitAsync(cancellationToken);
    }

    /// <summary>Declares a sink; a sink seen for the first time starts at the oldest record on disk.</summary>
    public long RegisterSink(string sink)
    {
        if (!Storage.Identifier.IsValid(sink))
        {
            throw new ArgumentException($"sink name '{sink}' is not a plain identifier", nameof(sink));
        }

        long position;
        bool moved;
        lock (_gate)
        {
            _sinks.Add(sink);
            position = Math.Max(_cursors.Get(sink) ?? _segments[0].Base, _segments[0].Base);
            moved = _cursors.Set(sink, position);
        }

        if (moved)
        {
            lock (_durableGate)
            {
                _cursors.Persist(sink, position);
            }
        }

        return position;
    }

    public long CommittedPosition(string sink)
    {
        lock (_gate)
        {
            return _cursors.Get(sink) ?? Start;
        }
    }

    /// <summary>Records that <paramref name="sink"/> has persisted everything before <paramref name="position"/>.</summary>
    public void Commit(string sink, long position) => CommitAsync(sink, position).GetAwaiter().GetResult();

    /// <summary>
    /// <see cref="Commit"/> without holding the caller's thread while the disk syncs: the cursor moves (and the segments
    /// every sink has passed leave the list) at once; the cursor file, the segments' deletion and the release of their
    /// pages follow on the spool's sync thread, and the task completes when they are done.
    /// </summary>
    public Task CommitAsync(string sink, long position)
    {
        List<SpoolSegment>? retired = null;
        SpoolSegment[] live;
        bool moved;
        lock (_gate)
        {
            moved = _cursors.Set(sink, position);
            var oldestNeeded = _cursors.Minimum(_sinks) ?? End;
            while (_segments.Count > 1 && _segments[0].End <= oldestNeeded)
            {
                (retired ??= []).Add(_segments[0]);
                _segments.RemoveAt(0);
            }

            live = [.. _segments];
        }

        // The cursor reaches the disk before the segments it no longer needs leave it.
        return _sync.Run(() => Persist(sink, position, moved, retired, live));
    }

    private void Persist(string sink, long position, bool moved, List<SpoolSegment>? retired, SpoolSegment[] live)
    {
        lock (_durableGate)
        {
            if (moved)
            {
                _cursors.Persist(sink, position);
            }

            foreach (var segment in retired ?? [])
            {
                segment.Dispose();
                File.Delete(segment.FilePath);
            }

            // After each delivery: the spool's pages leave the process's resident memory (not the page cache or the
            // file), so the gateway's RSS stays flat instead of growing by what the segments hold. A sink's next read
            // maps what it needs again from the page cache.
            foreach (var segment in live)
            {
                segment.ReleaseResidentPages();
            }
        }
    }

    private void Prefault(SpoolSegment segment)
    {
        try
        {
            lock (_durableGate)
            {
                segment.Prefault(PrefaultAhead); // under the lock retiring a segment takes: never an unmapped one
            }
        }
        finally
        {
            Volatile.Write(ref _prefaultQueued, false);
        }
    }

    /// <summary>Forces appended records to stable storage.</summary>
    public void Flush()
    {
        SpoolSegment[] segments;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            segments = [.. _segments]; // a segment rolled away since the last flush still has its tail to sync
        }

        lock (_durableGate)
        {
            foreach (var segment in segments)
            {
                segment.Flush(); // no-op once retired (disposed under this lock) or already synced
            }
        }
    }

    /// <summary>The segment holding <paramref name="position"/> (the oldest when it was retired), held for
    /// <paramref name="batch"/> when one reads it; none once the spool is disposed.</summary>
    private SpoolSegment? SegmentAt(long position, SpoolBatch? batch)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return null;
            }

            SpoolSegment? found = null;
            for (var i = _segments.Count - 1; i >= 0 && found is null; i--)
            {
                if (_segments[i].Base <= position)
                {
                    found = _segments[i];
                }
            }

            found ??= _segments.Count > 0 && position < _segments[0].Base ? _segments[0] : null;
            if (found is not null)
            {
                batch?.Hold(found);
            }

            return found;
        }
    }

    private bool TryRoll()
    {
        if ((_segments.Count + 1) * _options.SegmentBytes > _options.MaxBytes)
        {
            return false;
        }

        var basePosition = _active.End;
        var path = Path.Combine(_options.Path, SpoolSegment.FileName(basePosition));
        SpoolSegment next;
        try
        {
            // The old segment's tail is synced by the next Flush (or was, record by record, under EveryRecord).
            if (_spare is not null)
            {
                next = _spare;
                _spare = null;
                next.Rebase(path, basePosition);
            }
            else
            {
                next = SpoolSegment.Create(path, basePosition, _options.SegmentBytes);
            }
        }
        catch (IOException)
        {
            return false; // the disk itself is full: same as an exhausted budget
        }

        _segments.Add(next);
        _active = next;
        return true;
    }

    /// <summary>Once the active segment is half used, a spare file is allocated off the request path.</summary>
    private void MaybePrepareSpare()
    {
        if (_spare is not null || _preparingSpare is { IsCompleted: false }
            || _active.End - _active.Base < _options.SegmentBytes / 2
            || (_segments.Count + 1) * _options.SegmentBytes > _options.MaxBytes)
        {
            return;
        }

        _preparingSpare = Task.Run(() =>
        {
            try
            {
                var spare = SpoolSegment.Create(Path.Combine(_options.Path, SpareName), -1, _options.SegmentBytes);
                spare.Prefault(PrefaultAhead); // its first pages, before it becomes the one appends write
                lock (_gate)
                {
                    if (_disposed || _spare is not null)
                    {
                        spare.Dispose();
                        File.Delete(spare.FilePath);
                    }
                    else
                    {
                        _spare = spare;
                    }
                }
            }
            catch (IOException)
            {
                // Out of disk: the roll will try again and drop if it must.
            }
        });
    }

    public void Dispose()
    {
        _sync.Dispose(); // after the commits and the flush it was given
        _preparingSpare?.Wait();
        lock (_durableGate)
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var segment in _segments)
            {
                segment.Dispose();
            }

            if (_spare is not null)
            {
                _spare.Dispose();
                File.Delete(_spare.FilePath);
            }

            _appended?.TrySetResult();
        }
    }
}
