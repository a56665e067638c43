using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Tasks;

/// <summary>Accuracy of greedy answers on labelled examples, and the answers' length (inference cost).</summary>
public static class TaskEvaluator
{
    public sealed record Result(int Correct, int Total, double TokensPerAnswer)
    {
        public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;
    }

    public static async Task<Result> EvaluateAsync(LlamaForCausalLM model, TextTokenizer tokenizer, ITaskFamily family,
        IReadOnlyList<LabelledExample> examples, CancellationToken cancellationToken)
    {
        var prompts = examples.Select(e => tokenizer.EncodePrompt(e.Prompt.Messages)).ToList();
        var answers = new TextGenerator(model, tokenizer).Generate(prompts,
            new GenerationOptions { Temperature = 0, MaxNewTokens = family.MaxAnswerTokens, BatchSize = 128 });
        var correct = 0;
        for (var i = 0; i < examples.Count; i++)
        {
            if (await family.IsCorrectAsync(examples[i], answers[i].Text.Trim(), cancellationToken))
            {
                correct++;
            }
        }

        return new Result(correct, examples.Count, answers.Average(a => a.Tokens.Length + (a.FinishReason == "stop" ? 1 : 0)));
    }
}
