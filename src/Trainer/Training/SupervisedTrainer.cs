using System.Diagnostics;
using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;
using static TorchSharp.torch;

namespace Tao.Trainer.Training;

/// <summary>Supervised fine-tuning on (prompt, answer) pairs: pre-training the project's base models and the labelled baseline.</summary>
public static class SupervisedTrainer
{
    public sealed record Example(IReadOnlyList<ChatMessage> Prompt, string Answer);

    public sealed record Result(IReadOnlyList<double> EpochLosses, long Tokens, TimeSpan Elapsed)
    {
        public double TokensPerSecond => Tokens / Math.Max(1e-9, Elapsed.TotalSeconds);
    }

    /// <param name="promptWeight">Loss weight of prompt tokens: 0 trains answers only (fine-tuning); above 0 the model also
    /// learns to predict the prompts (pre-training the project's base models, where it is far more signal per step).</param>
    public static Result Train(LlamaForCausalLM model, TextTokenizer tokenizer, IReadOnlyList<Example> examples, int epochs, double learningRate,
        int batchSize = 32, int seed = 0, Action<int, int, double>? progress = null, CancellationToken cancellationToken = default, float promptWeight = 0)
    {
        var encoded = examples.Select(e => (tokenizer.EncodePrompt(e.Prompt), Completion(tokenizer, e.Answer))).ToList();
        return TrainEncoded(model, tokenizer.PadId, encoded, epochs, learningRate, batchSize, seed, progress, cancellationToken, promptWeight);
    }

    /// <summary>The answer's tokens as the model must produce them: a space, the text, then end of sequence.</summary>
    public static int[] Completion(TextTokenizer tokenizer, string answer) => [.. tokenizer.Encode(" " + answer.Trim()), tokenizer.EosId];

    public static Result TrainEncoded(LlamaForCausalLM model, int padId, IReadOnlyList<(int[] Prompt, int[] Completion)> items, int epochs,
        double learningRate, int batchSize, int seed, Action<int, int, double>? progress = null, CancellationToken cancellationToken = default,
        float promptWeight = 0)
    {
        using var optimizer = new AdamW(model.parameters().Where(p => p.requires_grad), learningRate);
        var random = new Random(seed);
        var losses = new List<double>();
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        var steps = epochs * ((items.Count + batchSize - 1) / batchSize);
        var step = 0;
        model.train();
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            double total = 0;
            var batches = 0;
            foreach (var batch in Batches(items, batchSize, random))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var value = Step(model, optimizer, batch, padId, LearningRateAt(step, steps, learningRate), promptWeight);
                total += value;
                batches++;
                tokens += batch.Sum(b => b.Prompt.Length + b.Completion.Length);
                progress?.Invoke(++step, steps, value);
            }

            losses.Add(total / Math.Max(1, batches));
        }

        return new Result(losses, tokens, clock.Elapsed);
    }

    /// <summary>
    /// One optimiser step of supervised fine-tuning on <paramref name="batch"/> at <paramref name="rate"/> (gradient norm
    /// clipped to 1); returns the batch's loss. The base model's training, the labelled baseline's grid and the fine-tunes
    /// of the flywheel's labelled rounds all step this way.
    /// </summary>
    internal static float Step(LlamaForCausalLM model, AdamW optimizer, IReadOnlyList<(int[] Prompt, int[] Completion)> batch, int padId, double rate,
        float promptWeight = 0)
    {
        using var scope = NewDisposeScope();
        var (ids, attention, target) = SequenceBatch.Build(batch, padId, model.Device, promptWeight);
        var (logProbs, mask) = SequenceBatch.TokenLogProbs(model, ids, attention, target);
        var loss = Losses.Sft(logProbs, mask);
        optimizer.Minimise(loss, rate);
        return loss.item<float>();
    }

    /// <summary>Linear warm-up over the first 5% of steps, then cosine decay to a tenth of the peak.</summary>
    public static double LearningRateAt(int step, int steps, double peak) => LearningRateSchedule.At(step, steps, peak);

    /// <summary>One epoch's batches, shuffled.</summary>
    public static List<List<(int[] Prompt, int[] Completion)>> Batches(IReadOnlyList<(int[] Prompt, int[] Completion)> items, int batchSize, Random random) =>
        items.OrderBy(_ => random.Next()).Chunk(batchSize).Select(c => c.ToList()).ToList();
}
