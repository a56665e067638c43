using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;

namespace Tao.Serving;

/// <summary>A checkpoint being served: its name, weights, tokenizer and batch scheduler.</summary>
internal sealed class ServedModel(string name, string path, LlamaForCausalLM model, TextTokenizer tokenizer, BatchScheduler scheduler) : IDisposable
{
    public string Name { get; } = name;
    public string Path { get; } = path;
    public LlamaForCausalLM Model { get; } = model;
    public TextTokenizer Tokenizer { get; } = tokenizer;
    public BatchScheduler Scheduler { get; } = scheduler;
    public DateTimeOffset LoadedAt { get; } = DateTimeOffset.UtcNow;

    public void Dispose()
    {
        Scheduler.Dispose();
        Model.Dispose();
    }
}
