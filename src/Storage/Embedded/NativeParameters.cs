using System.Runtime.InteropServices;
using System.Text;

namespace Tao.Storage.Embedded;

/// <summary>Query parameters as the parallel native arrays chdb_*_with_params_n expects; freed on dispose.</summary>
internal sealed unsafe class NativeParameters : IDisposable
{
    private readonly IntPtr _block;

    public NativeParameters(IReadOnlyList<KeyValuePair<string, string>>? parameters)
    {
        Count = parameters?.Count ?? 0;
        if (Count == 0)
        {
            return;
        }

        var encoded = new byte[Count * 2][];
        long bytes = 0;
        for (var i = 0; i < Count; i++)
        {
            encoded[2 * i] = Encoding.UTF8.GetBytes(parameters![i].Key);
            encoded[2 * i + 1] = Encoding.UTF8.GetBytes(parameters[i].Value);
            bytes += encoded[2 * i].Length + encoded[2 * i + 1].Length;
        }

        // One allocation: four pointer/length arrays followed by the string bytes.
        var header = 4L * Count * sizeof(IntPtr);
        _block = (IntPtr)NativeMemory.Alloc((nuint)(header + bytes + 1));
        Names = (byte**)_block;
        NameLengths = (nuint*)(Names + Count);
        Values = (byte**)(NameLengths + Count);
        ValueLengths = (nuint*)(Values + Count);
        var cursor = (byte*)_block + header;
        for (var i = 0; i < Count; i++)
        {
            Names[i] = Copy(encoded[2 * i], ref cursor);
            NameLengths[i] = (nuint)encoded[2 * i].Length;
            Values[i] = Copy(encoded[2 * i + 1], ref cursor);
            ValueLengths[i] = (nuint)encoded[2 * i + 1].Length;
        }
    }

    public int Count { get; }
    public byte** Names { get; }
    public nuint* NameLengths { get; }
    public byte** Values { get; }
    public nuint* ValueLengths { get; }

    private static byte* Copy(byte[] source, ref byte* cursor)
    {
        var start = cursor;
        source.AsSpan().CopyTo(new Span<byte>(cursor, source.Length));
        cursor += source.Length;
        return start;
    }

    public void Dispose()
    {
        if (_block != IntPtr.Zero)
        {
            NativeMemory.Free((void*)_block);
        }
    }
}
