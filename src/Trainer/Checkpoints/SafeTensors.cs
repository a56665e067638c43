using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Tao.Trainer.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
/// and byte range, then the raw little-endian data. Reads F32, F16, BF16, F64, I64, I32, I8, U8 and BOOL.
/// </summary>
internal static class SafeTensors
{
    /// <summary>Names, dtypes and shapes in a file, without reading any tensor data.</summary>
    public static IReadOnlyDictionary<string, (string Dtype, long[] Shape)> ReadHeader(string path)
    {
        using var file = File.OpenRead(path);
        return ParseHeader(file, out _).ToDictionary(e => e.Key, e => (e.Value.Dtype, e.Value.Shape), StringComparer.Ordinal);
    }

    /// <summary>Reads every tensor of a file (CPU tensors; the caller owns and disposes them).</summary>
    public static Dictionary<string, Tensor> Load(string path, Func<string, bool>? include = null)
    {
        using var file = File.OpenRead(path);
        var entries = ParseHeader(file, out var dataStart);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, entry) in entries.OrderBy(e => e.Value.Begin))
        {
            if (include is not null && !include(name))
            {
                continue;
            }

            var bytes = new byte[entry.End - entry.Begin];
            file.Position = dataStart + entry.Begin;
            file.ReadExactly(bytes);
            var tensor = empty(entry.Shape, ToScalarType(entry.Dtype));
            if (bytes.Length > 0)
            {
                tensor.bytes = bytes;
            }

            result[name] = tensor;
        }

        return result;
    }

    /// <summary>Writes tensors (keys sorted, data 8-byte aligned, header padded with spaces as the format asks).</summary>
    public static void Save(string path, IEnumerable<(string Name, Tensor Tensor)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        var header = new JsonObject();
        if (metadata is not null)
        {
            header["__metadata__"] = new JsonObject(metadata.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)JsonValue.Create(m.Value))));
        }

        long offset = 0;
        var payloads = new List<byte[]>(ordered.Count);
        foreach (var (name, tensor) in ordered)
        {
            using var cpu = tensor.detach().cpu().contiguous();
            var bytes = cpu.bytes.ToArray();
            payloads.Add(bytes);
            header[name] = new JsonObject
            {
                ["dtype"] = FromScalarType(cpu.dtype),
                ["shape"] = new JsonArray(cpu.shape.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
                ["data_offsets"] = new JsonArray(JsonValue.Create(offset), JsonValue.Create(offset + bytes.Length)),
            };
            offset += bytes.Length;
        }

        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (headerBytes.Length + 7) & ~7;
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            file.Write(length);
            file.Write(headerBytes);
            for (var i = headerBytes.Length; i < padded; i++)
            {
                file.WriteByte((byte)' ');
            }

            foreach (var bytes in payloads)
            {
                file.Write(bytes);
            }

            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static Dictionary<string, (string Dtype, long[] Shape, long Begin, long End)> ParseHeader(Stream file, out long dataStart)
    {
        Span<byte> length = stackalloc byte[8];
        file.ReadExactly(length);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength > 100_000_000)
        {
            throw new InvalidDataException("safetensors header is implausibly large");
        }

        var header = new byte[headerLength];
        file.ReadExactly(header);
        dataStart = 8 + (long)headerLength;
        using var document = JsonDocument.Parse(header);
        var entries = new Dictionary<string, (string, long[], long, long)>(StringComparer.Ordinal);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                continue;
            }

            var dtype = property.Value.GetProperty("dtype").GetString()!;
            var shape = property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = property.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var expected = shape.Aggregate(1L, (a, b) => a * b) * ElementSize(dtype);
            if (offsets.Length != 2 || offsets[1] - offsets[0] != expected)
            {
                throw new InvalidDataException($"tensor '{property.Name}' has a byte range that does not match its shape and dtype");
            }

            entries[property.Name] = (dtype, shape, offsets[0], offsets[1]);
        }

        return entries;
    }

    private static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => throw new NotSupportedException($"safetensors dtype {dtype} is not supported"),
    };

    private static ScalarType ToScalarType(string dtype) => dtype switch
    {
        "F64" => ScalarType.Float64,
        "F32" => ScalarType.Float32,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64,
        "I32" => ScalarType.Int32,
        "I16" => ScalarType.Int16,
        "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte,
        "BOOL" => ScalarType.Bool,
        _ => throw new NotSupportedException($"safetensors dtype {dtype} is not supported"),
    };

    private static string FromScalarType(ScalarType type) => type switch
    {
        ScalarType.Float64 => "F64",
        ScalarType.Float32 => "F32",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new NotSupportedException($"{type} cannot be written to safetensors"),
    };
}
