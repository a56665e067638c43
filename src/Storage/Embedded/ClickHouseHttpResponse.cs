using System.Text;

namespace Tao.Storage.Embedded;

/// <summary>What the engine answers: a status, ClickHouse's X-ClickHouse-* headers and a body.</summary>
internal sealed class ClickHouseHttpResponse : IDisposable
{
    private readonly ChdbResult? _result;
    private readonly byte[]? _bytes;

    private ClickHouseHttpResponse(int status, string contentType, ChdbResult? result, byte[]? bytes)
    {
        Status = status;
        ContentType = contentType;
        _result = result;
        _bytes = bytes;
    }

    public int Status { get; }
    public string ContentType { get; }
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The body; valid until the response is disposed (it may point into engine memory).</summary>
    public ReadOnlySpan<byte> Body => _result is not null ? _result.Span : _bytes;

    public static ClickHouseHttpResponse FromResult(ChdbResult result, string contentType) => new(200, contentType, result, null);

    public static ClickHouseHttpResponse Text(int status, string text) =>
        new(status, "text/plain; charset=UTF-8", null, Encoding.UTF8.GetBytes(text));

    /// <summary>A ClickHouse error: "Code: N. DB::Exception: ..." with the server's status for the code unless <paramref name="status"/> says otherwise.</summary>
    public static ClickHouseHttpResponse Error(int code, string message, int? status = null)
    {
        var body = message.StartsWith("Code:", StringComparison.Ordinal) ? message : $"Code: {code}. DB::Exception: {message}";
        var response = Text(status ?? ErrorStatus(code), body.EndsWith('\n') ? body : body + "\n");
        response.Headers["X-ClickHouse-Exception-Code"] = code.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return response;
    }

    /// <summary>The HTTP status a ClickHouse server gives an error code (a subset of its mapping).</summary>
    private static int ErrorStatus(int code) => code switch
    {
        194 => 401,                                                 // password required
        192 or 193 or 516 => 403,                                   // unknown user, wrong password, authentication failed
        164 or 497 => 403,                                          // readonly, access denied
        16 or 46 or 47 or 60 or 81 or 115 => 404,                   // unknown column / function / identifier / table / database / setting
        6 or 27 or 36 or 38 or 53 or 62 or 73 or 117 or 130 or 457 => 400, // parse, bad arguments, syntax, unknown format, bad data
        _ => 500,
    };

    public void Dispose() => _result?.Dispose();
}
