using static TorchSharp.torch;

namespace Tao.Trainer.Model;

/// <summary>Keys and values of every layer for the tokens seen so far; owns and disposes its tensors.</summary>
public sealed class KvCache : IDisposable
{
    private readonly Tensor?[] _keys;
    private readonly Tensor?[] _values;

    public KvCache(int layers)
    {
        _keys = new Tensor?[layers];
        _values = new Tensor?[layers];
    }

    /// <summary>Tokens cached (the same for every layer once a forward pass has run).</summary>
    public long Length => _keys[0]?.shape[2] ?? 0;

    /// <summary>Appends this step's keys and values ([batch, kv_heads, new, head_dim]) and returns the whole history.</summary>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        var oldK = _keys[layer];
        var oldV = _values[layer];
        var k = oldK is null ? keys.detach().clone() : cat([oldK, keys.detach()], 2);
        var v = oldV is null ? values.detach().clone() : cat([oldV, values.detach()], 2);
        k.DetachFromDisposeScope();
        v.DetachFromDisposeScope();
        oldK?.Dispose();
        oldV?.Dispose();
        _keys[layer] = k;
        _values[layer] = v;
        return (k, v);
    }

    /// <summary>Keeps only the given batch rows (sequences that are still generating).</summary>
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
