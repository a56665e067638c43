namespace Tao.Gateway.Capture;

/// <summary>What the capture keeps of a response: the answer text per choice, finish reason, usage, errors.</summary>
internal sealed class ResponseSummary
{
    private readonly List<System.Text.StringBuilder> _choices = [];

    public string? ServedModel { get; set; }
    public string? FinishReason { get; set; }
    public int? PromptTokens { get; set; }
    public int? CompletionTokens { get; set; }
    public string? ErrorType { get; set; }
    public string? ErrorMessage { get; set; }

    /// <summary>True once the stream's terminal "[DONE]" event was seen.</summary>
    public bool Done { get; set; }

    /// <summary>True once any answer text arrived (time to first token is taken then).</summary>
    public bool HasContent { get; private set; }

    /// <summary>Characters of answer text dropped because the capture cap was reached.</summary>
    public bool Truncated { get; private set; }

    public void Append(int choice, string? text, int cap)
    {
        if (string.IsNullOrEmpty(text) || choice is < 0 or > 127)
        {
            return;
        }

        while (_choices.Count <= choice)
        {
            _choices.Add(new System.Text.StringBuilder());
        }

        HasContent = true;
        var builder = _choices[choice];
        var room = cap - builder.Length;
        if (room <= 0)
        {
            Truncated = true;
            return;
        }

        if (text.Length > room)
        {
            builder.Append(text, 0, room);
            Truncated = true;
        }
        else
        {
            builder.Append(text);
        }
    }

    public string Text => _choices.Count > 0 ? _choices[0].ToString() : string.Empty;

    /// <summary>Characters of the first choice's text so far.</summary>
    public int Length => _choices.Count > 0 ? _choices[0].Length : 0;

    /// <summary>The first choice's text from <paramref name="start"/> on.</summary>
    public string TextFrom(int start) => _choices.Count > 0 && start < _choices[0].Length ? _choices[0].ToString(start, _choices[0].Length - start) : string.Empty;
}
