using System.Text.Json;
using Tao.Gateway.Capture;

namespace Tao.Gateway.Tests.Capture;

public sealed class ChunkParserTests
{
    private static ResponseSummary Parse(params string[] chunks)
    {
        var summary = new ResponseSummary();
        foreach (var chunk in chunks)
        {
            using var document = JsonDocument.Parse(chunk);
            ChunkParser.Apply(document.RootElement, summary, 10_000);
        }

        return summary;
    }

    [Fact]
    public void LogProbTokensSpelledAsIds_GiveTheTokenIds_AsVllmsReturnTokensAsTokenIdsWritesThem()
    {
        var summary = Parse(
            """{"choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":{"content":[{"token":"token_id:9906","logprob":-0.1}]}}]}""",
            """{"choices":[{"index":0,"delta":{"content":" there"},"logprobs":{"content":[{"token":"token_id:1070","logprob":-0.7}]}}]}""");

        Assert.Equal([9906, 1070], summary.TokenIds);
        Assert.Equal("Hi there", summary.Text);
    }

    [Fact]
    public void AnswerText_WholeOrInPieces_ReadsTheSame_AndIsCutAtTheCap()
    {
        var whole = Parse("""{"choices":[{"index":0,"message":{"content":"The answer is 42."}}]}""");
        var pieces = Parse(
            """{"choices":[{"index":0,"delta":{"content":"The "}}]}""",
            """{"choices":[{"index":0,"delta":{"content":"answer"}}]}""",
            """{"choices":[{"index":0,"delta":{"content":" is 42."}}]}""");
        var cut = new ResponseSummary();
        cut.Append(0, "abcdef", cap: 4);
        cut.Append(0, "gh", cap: 4);

        Assert.Equal("The answer is 42.", whole.Text);
        Assert.Same(whole.Text, whole.Text); // made a string once, however often it is read
        Assert.Equal("The answer is 42.", pieces.Text);
        Assert.Equal("answer is 42.", pieces.TextFrom(4));
        Assert.Equal(17, pieces.Length);
        Assert.Equal("abcd", cut.Text);
        Assert.True(cut.Truncated);
    }

    [Fact]
    public void ToolCallArguments_InPiecesThenReplacedWhole_KeepOnlyTheWhole()
    {
        var summary = new ResponseSummary();
        summary.ToolCall(0, "call_1", "lookup", "{\"q\":", 1000);
        summary.ToolCall(0, null, null, "\"x\"}", 1000);
        var streamed = summary.ToolCalls(a => a).Single().Arguments;
        summary.ToolCall(0, null, null, "{\"q\":\"y\"}", 1000, replace: true);

        Assert.Equal("{\"q\":\"x\"}", streamed);
        Assert.Equal("{\"q\":\"y\"}", summary.ToolCalls(a => a).Single().Arguments);
    }

    [Fact]
    public void LogProbTokensAsText_GiveNoTokenIds_AndTheChoicesOwnIdsWin()
    {
        var text = Parse("""{"choices":[{"index":0,"message":{"content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.1}]}}]}""");
        var both = Parse("""{"prompt_token_ids":[1,2],"choices":[{"index":0,"message":{"content":"Hi"},"token_ids":[7],"logprobs":{"content":[{"token":"token_id:9","logprob":-0.1}]}},{"index":1,"message":{"content":"Yo"},"token_ids":[8]}]}""");

        Assert.Empty(text.TokenIds);
        Assert.Equal([7], both.TokenIds); // the first choice's own ids; the second choice's are not the record's
        Assert.Equal([1, 2], both.PromptTokenIds);
    }
}
