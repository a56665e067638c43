using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Registry;
using Tao.Trainer.Tokenization;

namespace Tao.Serving;

/// <summary>The models a server holds, by name. Several versions can be loaded at once; loading verifies registry checksums.</summary>
public sealed class ModelHost : IDisposable
{
    private readonly ConcurrentDictionary<string, ServedModel> _models = new(StringComparer.Ordinal);
    private readonly ModelServerOptions _options;

    public ModelHost(IOptions<ModelServerOptions> options)
    {
        _options = options.Value;
        foreach (var (name, path) in _options.Models)
        {
            Load(name, path);
        }
    }

    public IReadOnlyCollection<string> Names => _models.Keys.Order(StringComparer.Ordinal).ToList();

    internal bool TryGet(string name, out ServedModel model) => _models.TryGetValue(name, out model!);

    /// <summary>Loads (or replaces) a model from a checkpoint folder; a registry version's files must match their checksums.</summary>
    public void Load(string name, string path)
    {
        var versionFile = Path.Combine(path, "version.json");
        if (File.Exists(versionFile))
        {
            new ModelRegistry(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path))!)!).Verify(Path.GetFileName(Path.GetFullPath(path)));
        }

        var model = ModelCheckpoint.Load(path);
        var tokenizer = TextTokenizer.Load(path);
        var served = new ServedModel(name, path, model, tokenizer,
            new BatchScheduler(model, tokenizer, _options.MaxBatch, TimeSpan.FromMilliseconds(_options.BatchWindowMs)));
        if (_models.TryGetValue(name, out var old))
        {
            _models[name] = served;
            old.Dispose();
        }
        else
        {
            _models[name] = served;
        }
    }

    public bool Unload(string name)
    {
        if (!_models.TryRemove(name, out var model))
        {
            return false;
        }

        model.Dispose();
        return true;
    }

    public double MeanBatchSize(string name) => _models.TryGetValue(name, out var model) ? model.Scheduler.MeanBatchSize : 0;

    public void Dispose()
    {
        foreach (var model in _models.Values)
        {
            model.Dispose();
        }
    }
}
