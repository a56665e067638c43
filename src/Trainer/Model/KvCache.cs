using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>
/// Keys and values of every layer for the tokens seen so far; owns and disposes its tensors. Storage is allocated with
/// room to grow and each step writes its token in place: growing by concatenation copies the whole history of every
/// layer on every token, which made decoding memory-bound (about 5x slower at a batch of 256).
/// </summary>
public sealed class KvCache(int layers, int reserve = 64) : IDisposable
{
    private readonly Tensor?[] _keys = new Tensor?[layers];
    private readonly Tensor?[] _values = new Tensor?[layers];
    private readonly long[] _lengths = new long[layers];

    /// <summary>Tokens cached (the same for every layer once a forward pass has run).</summary>
    public long Length => _lengths[0];

    /// <summary>Appends this step's keys and values ([batch, kv_heads, new, head_dim]) and returns the whole history.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        var length = _lengths[layer];
        var added = keys.shape[2];
        if (_keys[layer] is not { } k || k.shape[2] < length + added || k.shape[0] != keys.shape[0])
        {
            Grow(layer, keys, length + added + reserve);
        }

        using (no_grad())
        {
            _keys[layer]!.narrow(2, length, added).copy_(keys.detach());
            _values[layer]!.narrow(2, length, added).copy_(values.detach());
        }

        _lengths[layer] = length + added;
        return (_keys[layer]!.narrow(2, 0, length + added), _values[layer]!.narrow(2, 0, length + added));
    }

    private void Grow(int layer, Tensor like, long capacity)
    {
        var shape = new[] { like.shape[0], like.shape[1], capacity, like.shape[3] };
        var k = zeros(shape, like.dtype, like.device);
        var v = zeros(shape, like.dtype, like.device);
        var length = _lengths[layer];
        if (length > 0 && _keys[layer] is { } oldK && _values[layer] is { } oldV)
        {
            k.narrow(2, 0, length).copy_(oldK.narrow(2, 0, length));
            v.narrow(2, 0, length).copy_(oldV.narrow(2, 0, length));
        }

        k.DetachFromDisposeScope();
        v.DetachFromDisposeScope();
        _keys[layer]?.Dispose();
        _values[layer]?.Dispose();
        _keys[layer] = k;
        _values[layer] = v;
    }

    /// <summary>Keeps (or repeats) the given batch rows: sequences still generating, or a shared prompt's samples.</summary>
    public void Select(Tensor rows)
    {
        for (var i = 0; i < _keys.Length; i++)
        {
            if (_keys[i] is { } k && _values[i] is { } v)
            {
                var nk = k.index_select(0, rows);
                var nv = v.index_select(0, rows);
                nk.DetachFromDisposeScope();
                nv.DetachFromDisposeScope();
                k.Dispose();
                v.Dispose();
                _keys[i] = nk;
                _values[i] = nv;
            }
        }
    }

    public void Dispose()
    {
        foreach (var tensor in _keys.Concat(_values))
        {
            tensor?.Dispose();
        }
    }
}
