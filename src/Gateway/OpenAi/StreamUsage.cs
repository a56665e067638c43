namespace Tao.Gateway.OpenAi;

/// <summary>Asks an upstream for the usage chunk on a streamed chat call by adding stream_options to the body.</summary>
internal static class StreamUsage
{
    public static byte[] Request(byte[] body)
    {
        var open = Array.IndexOf(body, (byte)'{');
        var insert = "\"stream_options\":{\"include_usage\":true},"u8;
        var result = new byte[body.Length + insert.Length];
        body.AsSpan(0, open + 1).CopyTo(result);
        insert.CopyTo(result.AsSpan(open + 1));
        body.AsSpan(open + 1).CopyTo(result.AsSpan(open + 1 + insert.Length));
        return result;
    }
}
