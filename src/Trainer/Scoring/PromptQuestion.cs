namespace Tao.Trainer.Scoring;

/// <summary>
/// The question of a prompt as scorers see it: the last non-empty line of the prompt text (system instructions and a
/// document come before it). Rules keyed on the question must not match words of the instructions or the document:
/// every invoice says "dated", which is not a question about a date.
/// </summary>
internal static class PromptQuestion
{
    public static string Of(string prompt)
    {
        var line = prompt.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? prompt;
        var colon = line.StartsWith("question:", StringComparison.OrdinalIgnoreCase) ? "question:".Length : 0;
        return line[colon..].Trim();
    }
}
