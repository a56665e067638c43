using Tao.Trainer.Generation;
using Tao.Trainer.Model;
using Tao.Trainer.Tokenization;

namespace Tao.Trainer.Tasks;

/// <summary>Accuracy of greedy answers on labelled examples, each answer and whether it is right, and the answers' length (inference cost).</summary>
public static class TaskEvaluator
{
    public sealed record Result(IReadOnlyList<string> Answers, IReadOnlyList<bool> Right, double TokensPerAnswer)
    {
        public int Correct => Right.Count(r => r);
        public int Total => Right.Count;
        public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;
    }

    public static async Task<Result> EvaluateAsync(LlamaForCausalLM model, TextTokenizer tokenizer, ITaskFamily family,
        IReadOnlyList<LabelledExample> examples, CancellationToken cancellationToken)
    {
        if (examples.Count == 0)
        {
            return new Result([], [], 0);
        }

        var prompts = examples.Select(e => tokenizer.EncodePrompt(e.Prompt.Messages)).ToList();
        var generated = new TextGenerator(model, tokenizer).Generate(prompts,
            new GenerationOptions { Temperature = 0, MaxNewTokens = family.MaxAnswerTokens, BatchSize = 512 });
        var answers = generated.Select(a => a.Text.Trim()).ToList();
        var right = new bool[examples.Count];
        for (var i = 0; i < examples.Count; i++)
        {
            right[i] = await family.IsCorrectAsync(examples[i], answers[i], cancellationToken);
        }

        return new Result(answers, right, generated.Average(a => a.Tokens.Length + (a.FinishReason == "stop" ? 1 : 0)));
    }
}
