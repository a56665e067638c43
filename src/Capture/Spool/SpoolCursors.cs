using System.Buffers.Binary;
using System.IO.Hashing;

namespace Tao.Capture.Spool;

/// <summary>
/// Each sink's committed position, one small file per sink, replaced atomically (write, fsync, rename), with a
/// checksum so a torn file is noticed rather than trusted.
/// </summary>
internal sealed class SpoolCursors
{
    private readonly string _folder;
    private readonly bool _sync;
    private readonly Dictionary<string, long> _positions = new(StringComparer.Ordinal);

    public SpoolCursors(string folder, bool sync)
    {
        _folder = folder;
        _sync = sync;
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.EnumerateFiles(folder, "*.cursor"))
        {
            var bytes = File.ReadAllBytes(file);
            if (bytes.Length == 12 && Crc32.HashToUInt32(bytes.AsSpan(0, 8)) == BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)))
            {
                _positions[Path.GetFileNameWithoutExtension(file)] = BinaryPrimitives.ReadInt64LittleEndian(bytes);
            }
        }
    }

    public long? Get(string sink) => _positions.TryGetValue(sink, out var position) ? position : null;

    /// <summary>The oldest position any of <paramref name="sinks"/> still needs; cursors of sinks no longer configured are ignored.</summary>
    public long? Minimum(IReadOnlySet<string> sinks)
    {
        long? minimum = null;
        foreach (var sink in sinks)
        {
            if (_positions.TryGetValue(sink, out var position) && (minimum is null || position < minimum))
            {
                minimum = position;
            }
        }

        return minimum;
    }

    /// <summary>Sets the position in memory (true when it moved); <see cref="Persist"/> writes it to disk.</summary>
    public bool Set(string sink, long position)
    {
        if (_positions.TryGetValue(sink, out var current) && current == position)
        {
            return false;
        }

        _positions[sink] = position;
        return true;
    }

    /// <summary>Writes one sink's position to its file. Callers serialise calls for the same sink.</summary>
    public void Persist(string sink, long position)
    {
        var bytes = new byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, position);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), Crc32.HashToUInt32(bytes.AsSpan(0, 8)));
        var path = Path.Combine(_folder, sink + ".cursor");
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            if (_sync)
            {
                stream.Flush(flushToDisk: true);
            }
        }

        File.Move(temp, path, overwrite: true);
    }
}
