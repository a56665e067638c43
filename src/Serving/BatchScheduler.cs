using System.Threading.Channels;
using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;

namespace Tao.Serving;

/// <summary>
/// Continuous-ish batching for one model: requests queue, and one worker thread decodes up to MaxBatch of those that
/// sample the same way together, waiting at most BatchWindowMs for company. On CPU a batch of 16 decodes in little more
/// time than one sequence, so concurrent requests share the cost.
/// </summary>
internal sealed class BatchScheduler : IDisposable
{
    private readonly Channel<GenerationJob> _queue = Channel.CreateUnbounded<GenerationJob>();
    private readonly TextGenerator _generator;
    private readonly int _maxBatch;
    private readonly TimeSpan _window;
    private readonly Thread _worker;
    private readonly CancellationTokenSource _stop = new();
    private long _batches;
    private long _sequences;

    public BatchScheduler(LlamaForCausalLM model, TextTokenizer tokenizer, int maxBatch, TimeSpan window)
    {
        _generator = new TextGenerator(model, tokenizer);
        _maxBatch = maxBatch;
        _window = window;
        _worker = new Thread(Run) { IsBackground = true, Name = "tao-serve-batch" };
        _worker.Start();
    }

    /// <summary>Mean sequences per decoded batch since start.</summary>
    public double MeanBatchSize => _batches == 0 ? 0 : (double)_sequences / _batches;

    public void Enqueue(GenerationJob job)
    {
        if (!_queue.Writer.TryWrite(job))
        {
            job.Result.TrySetException(new ObjectDisposedException(nameof(BatchScheduler)));
        }
    }

    private void Run()
    {
        var held = new List<GenerationJob>();
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (held.Count == 0 && !_queue.Reader.WaitToReadAsync(_stop.Token).AsTask().GetAwaiter().GetResult())
                {
                    return;
                }

                while (_queue.Reader.TryRead(out var queued))
                {
                    held.Add(queued);
                }

                if (held.Count < _maxBatch)
                {
                    Thread.Sleep(_window);
                    while (_queue.Reader.TryRead(out var late))
                    {
                        held.Add(late);
                    }
                }

                var key = held[0].BatchKey;
                var batch = held.Where(j => j.BatchKey == key).Take(_maxBatch).ToList();
                held.RemoveAll(batch.Contains);
                Decode(batch);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void Decode(List<GenerationJob> batch)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _sequences, batch.Count);
        try
        {
            var results = _generator.Generate(batch.Select(j => j.Prompt).ToList(), batch[0].Options with { SamplesPerPrompt = 1, BatchSize = _maxBatch },
                null, (job, token) => batch[job].Tokens?.Writer.TryWrite(token));
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Tokens?.Writer.TryComplete();
                batch[i].Result.TrySetResult(results[i]);
            }
        }
        catch (Exception e)
        {
            foreach (var job in batch)
            {
                job.Tokens?.Writer.TryComplete(e);
                job.Result.TrySetException(e);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _queue.Writer.TryComplete();
        _worker.Join(TimeSpan.FromSeconds(10));
    }
}
