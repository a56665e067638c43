using System.Buffers.Binary;
using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Tao.Capture.Spool;

/// <summary>
/// One preallocated segment file of the spool, mapped shared into memory. Bytes written to the mapping belong
/// to the kernel's page cache at once, so they survive the death of this process without any system call.
/// </summary>
/// <remarks>
/// File: a 64-byte header ("TAOSPOOL", format version, base position) then records, 8-byte aligned:
/// magic "TAO1" | payload length | CRC-32 of length, key and payload | flags | 16-byte key | payload.
/// The magic is written last, so a record cut short by a crash fails validation and is skipped.
/// Positions are global: a record at file offset o has position Base + o - HeaderBytes, and the next segment
/// starts at this one's End, so positions are dense across segments.
/// </remarks>
internal sealed unsafe partial class SpoolSegment : IDisposable
{
    public const int HeaderBytes = 64;
    public const int RecordHeaderBytes = 32;
    private const uint RecordMagic = 0x314F4154; // "TAO1"
    private const ulong FileMagic = 0x4C4F4F5053414F54; // "TAOSPOOL"
    private const int FormatVersion = 1;

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _data;
    private long _writeOffset;
    private long _flushedOffset;
    private long _prefaultedOffset;
    private static volatile bool s_populateWorks = OperatingSystem.IsLinux();
    private readonly MappedMemory? _memory;
    private int _references = 1; // the spool's own, given up by Dispose; a batch reading the segment holds another
    private bool _disposed;

    private SpoolSegment(string path, long basePosition, long capacity, MemoryMappedFile file, MemoryMappedViewAccessor view)
    {
        FilePath = path;
        Base = basePosition;
        Capacity = capacity;
        _file = file;
        _view = view;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _data = pointer + view.PointerOffset;
        _memory = capacity <= int.MaxValue ? new MappedMemory(_data, (int)capacity) : null;
        _writeOffset = HeaderBytes;
        _flushedOffset = HeaderBytes;
    }

    public string FilePath { get; private set; }
    public long Base { get; private set; }
    public long Capacity { get; }

    /// <summary>Global position just past the last record written.</summary>
    public long End => Base + Volatile.Read(ref _writeOffset) - HeaderBytes;

    /// <summary>Bytes of invalid records skipped while recovering this segment.</summary>
    public long CorruptBytesSkipped { get; private set; }

    public static string FileName(long basePosition) => $"{basePosition:D20}.seg";

    /// <summary>Creates a segment file with all its blocks allocated, so writing the mapping can never hit a full disk.</summary>
    public static SpoolSegment Create(string path, long basePosition, long capacity)
    {
        using (var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.Read, PreallocationSize = capacity,
        }))
        {
            stream.SetLength(capacity);
            Span<byte> header = stackalloc byte[HeaderBytes];
            header.Clear();
            BinaryPrimitives.WriteUInt64LittleEndian(header, FileMagic);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], FormatVersion);
            BinaryPrimitives.WriteInt64LittleEndian(header[16..], basePosition);
            stream.Write(header);
        }

        return Map(path, basePosition, capacity);
    }

    /// <summary>Opens an existing segment and finds its end, skipping anything a crash left torn.</summary>
    public static SpoolSegment Open(string path)
    {
        var capacity = new FileInfo(path).Length;
        long basePosition;
        using (var stream = File.OpenRead(path))
        {
            Span<byte> header = stackalloc byte[HeaderBytes];
            stream.ReadExactly(header);
            if (BinaryPrimitives.ReadUInt64LittleEndian(header) != FileMagic || BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != FormatVersion)
            {
                throw new InvalidDataException($"{path} is not a Tao spool segment");
            }

            basePosition = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        }

        var segment = Map(path, basePosition, capacity);
        segment.Recover();
        segment.ReleaseResidentPages(wholeFile: true); // recovery read the whole file through the mapping
        return segment;
    }

    /// <summary>Renames a prepared file to its final name and stamps the base position it now starts at.</summary>
    public void Rebase(string path, long basePosition)
    {
        File.Move(FilePath, path);
        FilePath = path;
        Base = basePosition;
        BinaryPrimitives.WriteInt64LittleEndian(new Span<byte>(_data + 16, 8), basePosition);
    }

    private static SpoolSegment Map(string path, long basePosition, long capacity)
    {
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, capacity, MemoryMappedFileAccess.ReadWrite);
        var view = file.CreateViewAccessor(0, capacity, MemoryMappedFileAccess.ReadWrite);
        return new SpoolSegment(path, basePosition, capacity, file, view);
    }

    public static int Footprint(int payloadLength) => (RecordHeaderBytes + payloadLength + 7) & ~7;

    public bool HasRoomFor(int payloadLength) => _writeOffset + Footprint(payloadLength) <= Capacity;

    /// <summary>Appends a record; the caller serialises appends. Returns the record's global position.</summary>
    public long Append(Guid key, ReadOnlySpan<byte> payload)
    {
        var offset = _writeOffset;
        var record = _data + offset;
        var span = new Span<byte>(record, Footprint(payload.Length));
        key.TryWriteBytes(span.Slice(16, 16));
        payload.CopyTo(span[RecordHeaderBytes..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], Checksum(span, payload.Length));
        Volatile.Write(ref *(uint*)record, RecordMagic);
        Volatile.Write(ref _writeOffset, offset + span.Length);
        return Base + offset - HeaderBytes;
    }

    /// <summary>
    /// Reads the record at <paramref name="position"/>. When the bytes there are not a valid record (a crash tore
    /// it), scans forward to the next valid one; <paramref name="entry"/> is default when none is left.
    /// </summary>
    /// <remarks>With a <paramref name="batch"/> (which must hold this segment, see <see cref="SpoolBatch.Hold"/>) the
    /// payload is a slice of the mapping; without one, a copy.</remarks>
    public bool TryRead(long position, SpoolBatch? batch, out SpoolEntry entry)
    {
        var end = Volatile.Read(ref _writeOffset);
        var offset = position - Base + HeaderBytes;
        while (offset + RecordHeaderBytes <= end)
        {
            if (TryValidate(offset, end, out var length))
            {
                var span = new ReadOnlySpan<byte>(_data + offset, RecordHeaderBytes + length);
                entry = new SpoolEntry(
                    Base + offset - HeaderBytes,
                    Base + offset + Footprint(length) - HeaderBytes,
                    new Guid(span.Slice(16, 16)),
                    batch is null || _memory is null
                        ? span[RecordHeaderBytes..].ToArray()
                        : _memory.Memory.Slice((int)offset + RecordHeaderBytes, length));
                return true;
            }

            offset += 8;
        }

        entry = default;
        return false;
    }

    private bool TryValidate(long offset, long end, out int length)
    {
        var header = new ReadOnlySpan<byte>(_data + offset, RecordHeaderBytes);
        length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != RecordMagic || length < 0 || offset + Footprint(length) > end)
        {
            return false;
        }

        var span = new ReadOnlySpan<byte>(_data + offset, RecordHeaderBytes + length);
        return BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) == Checksum(span, length);
    }

    private static uint Checksum(ReadOnlySpan<byte> record, int length)
    {
        var crc = new Crc32();
        crc.Append(record.Slice(4, 4));
        crc.Append(record.Slice(16, 16 + length));
        return crc.GetCurrentHashAsUInt32();
    }

    private void Recover()
    {
        var offset = (long)HeaderBytes;
        var lastValidEnd = offset;
        long skipped = 0;
        while (offset + RecordHeaderBytes <= Capacity)
        {
            if (TryValidate(offset, Capacity, out var length))
            {
                skipped += offset - lastValidEnd;
                offset += Footprint(length);
                lastValidEnd = offset;
            }
            else
            {
                offset += 8;
            }
        }

        _writeOffset = lastValidEnd;
        _flushedOffset = lastValidEnd;
        CorruptBytesSkipped = skipped;

        // Whatever a crash left past the last valid record is cleared, so a later append cannot sit next to
        // stale bytes that look like a record.
        new Span<byte>(_data + lastValidEnd, (int)Math.Min(Capacity - lastValidEnd, int.MaxValue)).Clear();
    }

    /// <summary>Forces the records written since the last flush to stable storage.</summary>
    public void Flush()
    {
        if (_disposed)
        {
            return;
        }

        var end = Volatile.Read(ref _writeOffset);
        var start = _flushedOffset;
        if (end <= start)
        {
            return;
        }

        var pageStart = start & ~(Environment.SystemPageSize - 1L);
        _ = msync((nint)(_data + pageStart), (nuint)(end - pageStart), MsSync);
        _flushedOffset = end;
    }

    private const int MsSync = 4;

    /// <summary>
    /// Hands this process's pages of the segment back to the kernel (madvise MADV_DONTNEED), up to the page the next record
    /// will be written into. For a shared file mapping that changes nothing but residency: the bytes stay in the page
    /// cache and the file, dirty pages are still written back (and synced by <see cref="Flush"/>), and a later read maps
    /// them again from the page cache. Without it every page a segment's records ever touched counts in the process's
    /// resident memory until the segment is retired: up to a segment's size per segment, growing with the traffic.
    /// <paramref name="wholeFile"/>: past the write position too (after recovery has scanned the file).
    /// </summary>
    public void ReleaseResidentPages(bool wholeFile = false)
    {
        if (_disposed)
        {
            return;
        }

        var page = (nint)Environment.SystemPageSize;
        var start = ((nint)_data + page - 1) & ~(page - 1);
        var end = (nint)(_data + (wholeFile ? Capacity : Volatile.Read(ref _writeOffset))) & ~(page - 1);
        if (end > start)
        {
            _ = madvise(start, (nuint)(end - start), MadvDontNeed);
        }
    }

    private const int MadvDontNeed = 4;

    /// <summary>
    /// True when fewer than half of <paramref name="ahead"/> bytes past the write position are mapped writable yet (see
    /// <see cref="Prefault"/>).
    /// </summary>
    public bool WantsPrefault(long ahead) =>
        s_populateWorks && Volatile.Read(ref _prefaultedOffset) < Math.Min(Capacity, Volatile.Read(ref _writeOffset) + ahead / 2);

    /// <summary>
    /// Maps the pages up to <paramref name="ahead"/> bytes past the write position writable (madvise MADV_POPULATE_WRITE),
    /// so appends do not take the page faults themselves. A first write to a page of the file costs a fault that
    /// allocates and zeroes the page and lets the file system reserve its block; taken inside an append it ran under the
    /// spool's lock, and a thread preempted as the fault returned held every other append up (seen under load with
    /// `perf record -e sched:sched_switch`). Populating changes no byte, so it may run beside appends. Kernels before
    /// 5.14 refuse it; then appends fault as before.
    /// </summary>
    public void Prefault(long ahead)
    {
        if (_disposed || !s_populateWorks)
        {
            return;
        }

        var page = (long)Environment.SystemPageSize;
        var from = Math.Max(Volatile.Read(ref _prefaultedOffset), Volatile.Read(ref _writeOffset)) & ~(page - 1);
        var to = Math.Min(Capacity, (Volatile.Read(ref _writeOffset) + ahead + page - 1) & ~(page - 1));
        if (to <= from)
        {
            return;
        }

        if (madvise((nint)(_data + from), (nuint)(to - from), MadvPopulateWrite) != 0 && Marshal.GetLastPInvokeError() is Einval or Enosys)
        {
            s_populateWorks = false;
            return;
        }

        Volatile.Write(ref _prefaultedOffset, to);
    }

    private const int MadvPopulateWrite = 23;
    private const int Einval = 22;
    private const int Enosys = 38;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int madvise(nint address, nuint length, int advice);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int msync(nint address, nuint length, int flags);

    /// <summary>Keeps the mapping past <see cref="Dispose"/> until <see cref="Release"/>. Only while the segment is
    /// still the spool's (listed, not disposed).</summary>
    public void Retain() => Interlocked.Increment(ref _references);

    /// <summary>Gives up a reference from <see cref="Retain"/>; the last one unmaps the segment.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
        }
    }

    /// <summary>Syncs what was appended and gives the segment up: unmapped now, or when the last batch reading it is
    /// done with its payloads.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Flush();
        _disposed = true;
        Release();
    }

    /// <summary>The mapping as memory, so a batch's payloads can be slices of it.</summary>
    private sealed class MappedMemory(byte* data, int length) : System.Buffers.MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(data, length);

        public override System.Buffers.MemoryHandle Pin(int elementIndex = 0) => new(data + elementIndex);

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
