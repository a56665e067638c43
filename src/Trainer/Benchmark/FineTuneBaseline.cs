using Tao.Trainer.Model;
using Tao.Trainer.Tasks;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;
using static TorchSharp.torch;

namespace Tao.Trainer.Benchmark;

/// <summary>
/// The labelled baseline, trained to convergence: supervised fine-tuning on the tuning inputs WITH their gold answers,
/// for each candidate learning rate up to a maximum of epochs, evaluated on a dev slice of the tuning inputs after every
/// epoch (a rate stops after three epochs without a better dev score); the (rate, epoch) with the best dev accuracy is kept,
/// and when that is the grid's top rate the grid extends upward. The dev slice is the same share TAO keeps for its own
/// label-free selection, so both train on the same inputs.
/// </summary>
internal sealed class FineTuneBaseline(LlamaForCausalLM baseModel, TextTokenizer tokenizer, ITaskFamily family)
{
    /// <summary>Rates tried above the given grid when its top rate keeps winning.</summary>
    public const int MaxExtensions = 2;

    public sealed record Result(double LearningRate, int Epochs, int Steps, double DevAccuracy, IReadOnlyList<(double Rate, int Epoch, double Dev)> Curve);

    /// <summary>Trains, keeps the best (rate, epoch) in <paramref name="into"/>, and says what was chosen.</summary>
    /// <param name="dev">Ids of the tuning inputs set aside to choose the rate and epoch (TAO's dev slice).</param>
    /// <remarks>
    /// Every rate runs to the end: racing them (the leader after three epochs going on alone, as TAO's polish once did) cut
    /// docqa's baseline from 195 to 100 s on the full run, but on --quick's smaller dev slices the early leader was the
    /// lower rate, and docqa's baseline ended at 36 % where the grid reaches ~70 %. The baseline is not where to save.
    /// </remarks>
    public async Task<Result> TrainAsync(LlamaForCausalLM into, IReadOnlyList<LabelledExample> tuning, ISet<string> dev, IReadOnlyList<double> rates,
        int maxEpochs, int batchSize, int seed, CancellationToken cancellationToken)
    {
        var train = tuning.Where(e => !dev.Contains(e.Prompt.Id)).ToList();
        var devList = tuning.Where(e => dev.Contains(e.Prompt.Id)).ToList();
        var encoded = train.Select(e => (tokenizer.EncodePrompt(e.Prompt.Messages), SupervisedTrainer.Completion(tokenizer, e.Gold))).ToList();
        var curve = new List<(double Rate, int Epoch, double Dev)>();
        Dictionary<string, Tensor>? best = null;
        (double Rate, int Epoch, double Dev) chosen = (0, 0, await DevAccuracyAsync(baseModel, devList, cancellationToken));
        var stepsPerEpoch = (encoded.Count + batchSize - 1) / batchSize;
        var grid = rates.ToList();
        for (var r = 0; r < grid.Count; r++)
        {
            var rate = grid[r];
            using var model = ModelCopies.Frozen(baseModel);
            foreach (var parameter in model.parameters())
            {
                parameter.requires_grad = true;
            }

            using var optimizer = new AdamW(model.parameters(), rate);
            var random = new Random(seed);
            var step = 0;
            var sinceBest = 0;
            var bestHere = double.NegativeInfinity;
            for (var epoch = 1; epoch <= maxEpochs && sinceBest < 3; epoch++)
            {
                model.train();
                foreach (var batch in SupervisedTrainer.Batches(encoded, batchSize, random))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    SupervisedTrainer.Step(model, optimizer, batch, tokenizer.PadId, LearningRateSchedule.At(step++, maxEpochs * stepsPerEpoch, rate));
                }

                var accuracy = await DevAccuracyAsync(model, devList, cancellationToken);
                curve.Add((rate, epoch, accuracy));
                sinceBest = accuracy > bestHere ? 0 : sinceBest + 1;
                bestHere = Math.Max(bestHere, accuracy);
                if (accuracy > chosen.Dev)
                {
                    chosen = (rate, epoch, accuracy);
                    ModelCopies.Dispose(best);
                    best = ModelCopies.Snapshot(model);
                }
            }

            // A grid whose top rate wins has not shown the best rate: it goes on upward (×3), up to two rates beyond
            // the grid. A single rate (the later seeds reuse the first seed's choice) is not a grid.
            if (r == grid.Count - 1 && rates.Count > 1 && grid.Count < rates.Count + MaxExtensions && chosen.Rate == rate)
            {
                grid.Add(rate * 3);
            }
        }

        ModelCopies.Restore(into, best ?? ModelCopies.Snapshot(baseModel));
        ModelCopies.Dispose(best);
        return new Result(chosen.Rate, chosen.Epoch, chosen.Epoch * stepsPerEpoch, chosen.Dev, curve);
    }

    private async Task<double> DevAccuracyAsync(LlamaForCausalLM model, IReadOnlyList<LabelledExample> dev, CancellationToken cancellationToken) =>
        (await TaskEvaluator.EvaluateAsync(model, tokenizer, family, dev, cancellationToken)).Accuracy;
}
