using System.CommandLine;

namespace Tao.Cli.Commands;

/// <summary>tao probe URL: a container health check without curl in the image.</summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var url = new Argument<string>("url") { Description = "URL to GET, e.g. http://localhost:8080/healthz." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait. Default: 3.", DefaultValueFactory = _ => 3 };
        var command = new Command("probe", "GET a URL and exit 0 when it answers 2xx, 1 otherwise (container health checks).") { url, timeout };
        command.SetAction(async (result, cancellationToken) =>
        {
            if (!Uri.TryCreate(result.GetValue(url), UriKind.Absolute, out var target))
            {
                Console.Error.WriteLine($"not an absolute URL: {result.GetValue(url)}");
                return 2;
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(result.GetValue(timeout)) };
            try
            {
                using var response = await http.GetAsync(target, cancellationToken);
                Console.WriteLine((int)response.StatusCode);
                return response.IsSuccessStatusCode ? 0 : 1;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Console.Error.WriteLine(e.Message);
                return 1;
            }
        });
        return command;
    }
}
