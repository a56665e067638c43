using System.Buffers;
using System.Text.Json;
using Tao.Gateway.OpenAi;

namespace Tao.Gateway.Capture;

/// <summary>
/// Follows a server-sent-event stream as its bytes pass through, without holding it: splits lines across chunk
/// boundaries, parses each "data:" payload, and folds the deltas into a <see cref="ResponseSummary"/>. Every surface's
/// events name their type inside the data (Responses' "response.output_text.delta", Anthropic's "content_block_delta"),
/// so the "event:" lines are not needed.
/// </summary>
internal sealed class SseReassembler(ResponseSummary summary, int cap, ApiSurface surface)
{
    private const int MaxLineBytes = 4 * 1024 * 1024;
    private readonly ArrayBufferWriter<byte> _line = new();
    private bool _lineTooLong;

    /// <summary>
    /// Feeds bytes; returns true when this chunk completed the stream: "data: [DONE]" for Chat Completions, the
    /// response.completed (or incomplete, failed) event for Responses, message_stop for Messages.
    /// </summary>
    public bool Feed(ReadOnlySpan<byte> bytes)
    {
        var completed = false;
        while (!bytes.IsEmpty)
        {
            var newline = bytes.IndexOf((byte)'\n');
            if (newline < 0)
            {
                Buffer(bytes);
                break;
            }

            Buffer(bytes[..newline]);
            completed |= EndLine();
            bytes = bytes[(newline + 1)..];
        }

        return completed;
    }

    private void Buffer(ReadOnlySpan<byte> bytes)
    {
        if (_line.WrittenCount + bytes.Length > MaxLineBytes)
        {
            _lineTooLong = true;
            return;
        }

        _line.Write(bytes);
    }

    private bool EndLine()
    {
        var line = _line.WrittenSpan;
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        var completed = false;
        if (!_lineTooLong && line.StartsWith("data:"u8))
        {
            var data = line[5..];
            if (!data.IsEmpty && data[0] == (byte)' ')
            {
                data = data[1..];
            }

            if (data.SequenceEqual("[DONE]"u8))
            {
                summary.Done = true;
                completed = true;
            }
            else
            {
                try
                {
                    using var document = JsonDocument.Parse(data.ToArray());
                    completed |= Apply(document.RootElement);
                }
                catch (JsonException)
                {
                    // Not JSON: the client gets it untouched; the capture has nothing to learn from it.
                }
            }
        }

        _line.Clear();
        _lineTooLong = false;
        return completed;
    }

    private bool Apply(JsonElement data)
    {
        switch (surface)
        {
            case ApiSurface.Responses:
                return ResponsesParser.ApplyEvent(data, summary, cap);
            case ApiSurface.Messages:
                return MessagesParser.ApplyEvent(data, summary, cap);
            default:
                ChunkParser.Apply(data, summary, cap);
                return false;
        }
    }
}
