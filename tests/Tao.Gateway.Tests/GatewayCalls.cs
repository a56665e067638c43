using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using Tao.Capture;

namespace Tao.Gateway.Tests;

/// <summary>What many gateway tests do with a raw call: build a JSON request, read its request id, check an error body.</summary>
internal static class GatewayCalls
{
    public static HttpRequestMessage Json(string path, string body) =>
        new(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    public static Guid RequestId(HttpResponseMessage response) =>
        Guid.Parse(response.Headers.GetValues(TaoHeaders.RequestId).Single());

    public static Guid RequestId(PipelineResponse response) => RequestIdOf(response.Headers);

    public static Guid RequestIdOf(PipelineResponseHeaders headers) =>
        Guid.Parse(headers.TryGetValue(TaoHeaders.RequestId, out var id) ? id! : throw new InvalidOperationException("no request id header"));

    /// <summary>An error in OpenAI's shape with the status (and code, when given) expected.</summary>
    public static async Task AssertErrorAsync(HttpResponseMessage response, int status, string? code, string because)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{because}: expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType?.MediaType ?? string.Empty);
        using var document = JsonDocument.Parse(text);
        var error = document.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()), because);
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("type").GetString()), because);
        if (code is not null)
        {
            Assert.Equal(code, error.GetProperty("code").GetString());
        }
    }

    /// <summary>Reads a body that may end with a reset, returning what arrived before it.</summary>
    public static async Task<string> ReadUntilResetAsync(HttpResponseMessage response)
    {
        var stream = await response.Content.ReadAsStreamAsync();
        var bytes = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                bytes.Write(buffer, 0, read);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            bytes.Write("<reset>"u8);
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
