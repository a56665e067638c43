namespace Tao.Gateway.Capture;

/// <summary>What the capture keeps of a response: the answer text per choice, its tool calls, finish reason, usage, errors.</summary>
internal sealed class ResponseSummary
{
    private const int MaxToolCalls = 128;
    private const int MaxLogProbs = 4096;
    private const int MaxTokenIds = 32_768;
    private readonly List<PieceText> _choices = [];
    private readonly PieceText _reasoning = new();
    private readonly PieceText _refusal = new();
    private readonly List<Tao.Capture.CaptureLogProb> _logProbs = [];
    private readonly List<int> _tokenIds = [];
    private readonly List<int> _promptTokenIds = [];
    private readonly SortedDictionary<int, ToolCallBuilder> _toolCalls = [];

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
            _choices.Add(new PieceText());
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
            builder.Append(text[..room]);
            Truncated = true;
        }
        else
        {
            builder.Append(text);
        }
    }

    /// <summary>
    /// Folds in a piece of a tool call of the first choice. <paramref name="key"/> is the call's position in the answer
    /// (its index, output index or content block); id and name arrive once, arguments in pieces or whole (<paramref name="replace"/>).
    /// </summary>
    public void ToolCall(int key, string? id, string? name, string? arguments, int cap, bool replace = false)
    {
        if (!_toolCalls.TryGetValue(key, out var call))
        {
            if (_toolCalls.Count >= MaxToolCalls)
            {
                Truncated = true;
                return;
            }

            _toolCalls[key] = call = new ToolCallBuilder();
        }

        HasContent = true;
        if (!string.IsNullOrEmpty(id))
        {
            call.Id = id;
        }

        if (!string.IsNullOrEmpty(name))
        {
            call.Name = name;
        }

        if (replace && arguments is not null)
        {
            call.Arguments.Clear();
        }

        if (!string.IsNullOrEmpty(arguments))
        {
            var room = cap - call.Arguments.Length;
            if (arguments.Length > room)
            {
                Truncated = true;
                arguments = arguments[..Math.Max(0, room)];
            }

            call.Arguments.Append(arguments);
        }
    }

    public bool HasToolCalls => _toolCalls.Count > 0;

    /// <summary>The tool calls in answer order, arguments passed through <paramref name="redact"/>.</summary>
    public List<Tao.Capture.CaptureToolCall> ToolCalls(Func<string, string> redact) =>
        _toolCalls.Values.Select(c => new Tao.Capture.CaptureToolCall { Id = c.Id, Name = c.Name, Arguments = redact(c.Arguments.ToString()) }).ToList();

    public string Text => _choices.Count > 0 ? _choices[0].ToString() : string.Empty;

    /// <summary>True when the upstream answered with several choices (n &gt; 1).</summary>
    public bool HasChoices => _choices.Count > 1;

    /// <summary>Every choice's text when the upstream answered with several (n &gt; 1); empty for one.</summary>
    public List<string> Choices => _choices.Count > 1 ? _choices.Select(c => c.ToString()).ToList() : [];

    /// <summary>The first choice's reasoning (reasoning_content / reasoning), as reasoning models stream it beside the answer.</summary>
    public string Reasoning => _reasoning.ToString();

    /// <summary>The first choice's refusal text, when the model refused instead of answering.</summary>
    public string Refusal => _refusal.ToString();

    /// <summary>The first choice's sampled tokens with their log-probabilities, when the caller asked for logprobs.</summary>
    public List<Tao.Capture.CaptureLogProb> Logprobs => _logProbs;

    public void AppendReasoning(string? text, int cap) => AppendCapped(_reasoning, text, cap);

    public void AppendRefusal(string? text, int cap) => AppendCapped(_refusal, text, cap);

    /// <summary>
    /// The first choice's sampled token ids, when the upstream returns them: vLLM's token_ids (return_token_ids), else
    /// the ids its logprobs spell as "token_id:N" (return_tokens_as_token_ids); empty otherwise.
    /// </summary>
    public List<int> TokenIds => _tokenIds.Count > 0 || _logProbs.Count == 0 ? _tokenIds : TokenIdsOfLogProbs();

    /// <summary>The prompt's token ids, when the upstream returns them (vLLM's prompt_token_ids).</summary>
    public List<int> PromptTokenIds => _promptTokenIds;

    public void AddTokenIds(System.Text.Json.JsonElement ids, bool prompt) => AddIds(prompt ? _promptTokenIds : _tokenIds, ids);

    private void AddIds(List<int> list, System.Text.Json.JsonElement ids)
    {
        foreach (var id in ids.EnumerateArray())
        {
            if (list.Count >= MaxTokenIds)
            {
                Truncated = true;
                return;
            }

            if (id.TryGetInt32(out var value))
            {
                list.Add(value);
            }
        }
    }

    private List<int> TokenIdsOfLogProbs()
    {
        var ids = new List<int>(_logProbs.Count);
        foreach (var logProb in _logProbs)
        {
            if (!logProb.Token.StartsWith("token_id:", StringComparison.Ordinal)
                || !int.TryParse(logProb.Token.AsSpan("token_id:".Length), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            {
                return [];
            }

            ids.Add(id);
        }

        return ids;
    }

    public void AddLogProb(string token, double logProb)
    {
        if (_logProbs.Count >= MaxLogProbs)
        {
            Truncated = true;
            return;
        }

        _logProbs.Add(new Tao.Capture.CaptureLogProb { Token = token, Logprob = logProb });
    }

    private void AppendCapped(PieceText builder, string? text, int cap)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        var room = cap - builder.Length;
        if (text.Length > room)
        {
            Truncated = true;
            text = text[..Math.Max(0, room)];
        }

        builder.Append(text);
    }

    /// <summary>Characters of the first choice's text so far.</summary>
    public int Length => _choices.Count > 0 ? _choices[0].Length : 0;

    /// <summary>The first choice's text from <paramref name="start"/> on.</summary>
    public string TextFrom(int start) => _choices.Count > 0 && start < _choices[0].Length ? _choices[0].ToString(start, _choices[0].Length - start) : string.Empty;
}

internal sealed class ToolCallBuilder
{
    public string Id { get; set; } = string.Empty;
    public string Name { get; set; } = string.Empty;
    public PieceText Arguments { get; } = new();
}

/// <summary>
/// Text that arrives whole (a buffered answer) or in pieces (stream deltas). One piece stays the string it came as; a
/// builder is made at the second, and the whole is made a string once, however often it is read: a buffered answer
/// costs its own string and no copies (a StringBuilder per text was, with its copy back out, a fifth of what capture
/// allocated a call).
/// </summary>
internal sealed class PieceText
{
    private string _whole = string.Empty;
    private System.Text.StringBuilder? _builder;

    public int Length => _builder?.Length ?? _whole.Length;

    public void Append(string text)
    {
        if (_builder is not null)
        {
            _builder.Append(text);
        }
        else if (_whole.Length == 0)
        {
            _whole = text;
        }
        else
        {
            _builder = new System.Text.StringBuilder(_whole, Math.Max(64, 2 * (_whole.Length + text.Length))).Append(text);
            _whole = string.Empty;
        }
    }

    public void Clear()
    {
        _whole = string.Empty;
        _builder = null;
    }

    public override string ToString()
    {
        if (_builder is not null)
        {
            _whole = _builder.ToString();
            _builder = null;
        }

        return _whole;
    }

    public string ToString(int start, int length) =>
        _builder?.ToString(start, length) ?? (start == 0 && length == _whole.Length ? _whole : _whole.Substring(start, length));
}
