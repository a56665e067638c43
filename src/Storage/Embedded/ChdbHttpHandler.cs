using System.Net;
using System.Net.Http.Headers;

namespace Tao.Storage.Embedded;

/// <summary>
/// An <see cref="HttpMessageHandler"/> that answers ClickHouse HTTP requests in process from the
/// embedded engine. Give it to ClickHouse.Driver through its HttpClient and the driver cannot tell
/// the embedded store from a server: one code path for both.
/// </summary>
internal sealed class ChdbHttpHandler : HttpMessageHandler
{
    private readonly ClickHouseHttpExecutor _executor;

    public ChdbHttpHandler(ChdbEngine engine) => _executor = new ClickHouseHttpExecutor(engine);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri ?? throw new ArgumentException("request has no URI", nameof(request));
        var body = request.Content is null ? Stream.Null : await request.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var encoding = request.Content?.Headers.ContentEncoding.LastOrDefault();
        var call = new ClickHouseHttpRequest(request.Method.Method, uri.AbsolutePath, ParseQuery(uri.Query), encoding, body);

        using var answer = await _executor.ExecuteAsync(call, cancellationToken).ConfigureAwait(false);
        var content = new ByteArrayContent(answer.Body.ToArray());
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(answer.ContentType);
        var response = new HttpResponseMessage((HttpStatusCode)answer.Status) { Content = content, RequestMessage = request };
        foreach (var (name, value) in answer.Headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }

        return response;
    }

    internal static List<KeyValuePair<string, string>> ParseQuery(string query)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var part in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            var name = Uri.UnescapeDataString((eq < 0 ? part : part[..eq]).Replace('+', ' '));
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(part[(eq + 1)..].Replace('+', ' '));
            result.Add(new(name, value));
        }

        return result;
    }
}
