using System.Text.RegularExpressions;

namespace Tao.Gateway.Tests.Admin;

/// <summary>The curl commands deploy/README.md tells an operator to run are ones the gateway accepts, sent as curl would send them.</summary>
public sealed partial class DeployReadmeExampleTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task EveryCurlExampleOfTheDeployReadme_IsAccepted()
    {
        var commands = File.ReadLines(Path.Combine(RepositoryRoot.Path, "deploy", "README.md"))
            .Where(line => line.StartsWith("curl ", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(commands);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var command in commands)
        {
            using var request = ToRequest(command);
            using var response = await http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{command}\n→ {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>
    /// A request as curl builds it from -H, -X, -d (curl's -d sends application/x-www-form-urlencoded unless a
    /// Content-Type header is given) and the address, which goes to the test gateway instead of localhost:8080.
    /// </summary>
    private HttpRequestMessage ToRequest(string command)
    {
        var arguments = Argument().Matches(command).Select(m => m.Groups["q"].Success ? m.Groups["q"].Value : m.Groups["d"].Success ? m.Groups["d"].Value : m.Value)
            .Select(a => a.Replace("$TAO_ADMIN_KEY", GatewayFixture.AdminKey, StringComparison.Ordinal))
            .Skip(1)
            .ToList();
        var headers = new List<(string Name, string Value)>();
        string? method = null, data = null, address = null;
        for (var i = 0; i < arguments.Count; i++)
        {
            switch (arguments[i])
            {
                case "-H":
                    var header = arguments[++i];
                    headers.Add((header[..header.IndexOf(':')].Trim(), header[(header.IndexOf(':') + 1)..].Trim()));
                    break;
                case "-X":
                    method = arguments[++i];
                    break;
                case "-d":
                    data = arguments[++i];
                    break;
                default:
                    Assert.False(arguments[i].StartsWith('-'), $"an option this test does not know: {arguments[i]}");
                    address = arguments[i];
                    break;
            }
        }

        Assert.NotNull(address);
        var target = new Uri("http://" + address.Replace("http://", "", StringComparison.Ordinal));
        var request = new HttpRequestMessage(new HttpMethod(method ?? (data is null ? "GET" : "POST")), new Uri(gateway.Address, target.PathAndQuery));
        if (data is not null)
        {
            var contentType = headers.FirstOrDefault(h => h.Name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)).Value ?? "application/x-www-form-urlencoded";
            request.Content = new StringContent(data, System.Text.Encoding.UTF8);
            request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        }

        foreach (var (name, value) in headers.Where(h => !h.Name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    // Shell words: '…' (single-quoted), "…" (double-quoted) or bare.
    [GeneratedRegex("""'(?<q>[^']*)'|"(?<d>[^"]*)"|[^\s'"]+""")]
    private static partial Regex Argument();
}
