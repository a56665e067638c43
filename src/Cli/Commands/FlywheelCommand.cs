using System.CommandLine;
using System.Net.Http.Headers;
using Tao.Flywheel;
using Tao.Gateway.Hosting;
using Tao.Hosting;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Cli.Commands;

/// <summary>tao flywheel: the round loop as a service, plus status, history and rollback against a running one.</summary>
internal static class FlywheelCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data();
        var config = CommonOptions.Config();
        var run = new Command("run",
            "Run the flywheel: per model group (Tao:Flywheel:Groups), count new distinct captured inputs per task; at the threshold run a " +
            "TAO round, evaluate the candidate against the live version, promote it through the gateway when it wins. Serves status " +
            "on Tao:Flywheel:Urls. With Tao:Flywheel:KafkaIngest enabled it also writes the captures topic into ClickHouse. " + TaoConfiguration.EnvironmentHelp)
        {
            data, config,
        };
        run.SetAction(async (result, cancellationToken) =>
        {
            var configuration = TaoConfiguration.Build(result.GetValue(data), result.GetValue(config) ?? []);
            await using var store = await ClickHouseStore.OpenAsync(configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new(), cancellationToken);
            await new SchemaMigrator(store).MigrateAsync(cancellationToken);
            await using var app = FlywheelApp.Build(configuration, store);
            await app.StartAsync(cancellationToken);
            Console.WriteLine($"flywheel status on {string.Join(", ", app.Urls)}/flywheel/status");
            await GatewayHost.WaitForShutdownAsync(cancellationToken);
            await app.StopAsync();
            return 0;
        });

        var url = new Option<string>("--url") { Description = "Flywheel status API. Default: http://127.0.0.1:8090.", DefaultValueFactory = _ => "http://127.0.0.1:8090" };
        var status = new Command("status", "Show each model group: live version, new inputs against the threshold, the round in flight.") { url };
        status.SetAction(async (result, cancellationToken) => await PrintAsync(result.GetValue(url)!, "/flywheel/status", cancellationToken));
        var json = new Option<bool>("--json") { Description = "Print the rounds as JSON (every recorded number) instead of a table." };
        var history = new Command("history", "Show rounds: inputs, the evidence behind each decision (live → candidate, gain with its 95 % interval, p), the decision and why.") { url, json };
        history.SetAction(async (result, cancellationToken) => result.GetValue(json)
            ? await PrintAsync(result.GetValue(url)!, "/flywheel/rounds", cancellationToken)
            : await PrintHistoryAsync(result.GetValue(url)!, cancellationToken));
        var group = new Option<string>("--group") { Description = "Model group.", Required = true };
        var rollback = new Command("rollback", "Move the group's alias back to the previous promoted version. Needs TAO_ADMIN_KEY.") { url, group };
        rollback.SetAction(async (result, cancellationToken) => await PostAsync(result.GetValue(url)!, $"/flywheel/groups/{result.GetValue(group)}/rollback", cancellationToken));
        var now = new Command("run-now", "Start a round for the group now, whatever the threshold. Needs TAO_ADMIN_KEY.") { url, group };
        now.SetAction(async (result, cancellationToken) => await PostAsync(result.GetValue(url)!, $"/flywheel/groups/{result.GetValue(group)}/run", cancellationToken));
        return new Command("flywheel", "The flywheel service and its status, history and rollback.") { run, status, history, rollback, now, RoundTraceCommand.Create() };
    }

    private static async Task<int> PrintAsync(string url, string path, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var text = await http.GetStringAsync(path, cancellationToken);
        Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(System.Text.Json.JsonDocument.Parse(text).RootElement, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    /// <summary>One block per round, newest first: what it tuned on, every signal with its interval, the decision and why.</summary>
    private static async Task<int> PrintHistoryAsync(string url, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var rounds = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<List<RoundRecord>>(http, "/flywheel/rounds", cancellationToken) ?? [];
        foreach (var round in rounds)
        {
            Console.WriteLine($"{round.RoundId}  {round.Status.ToUpperInvariant()}  {round.ParentVersion} → {round.CandidateVersion}  " +
                              $"({round.TuningInputs} inputs tuned on, {round.HeldOutInputs} held out, {round.DurationSeconds:0} s)");
            foreach (var signal in round.Evaluation.Keys.Where(k => k.EndsWith(".gain", StringComparison.Ordinal)).Select(k => k[..^".gain".Length]).Order())
            {
                double V(string name) => round.Evaluation.GetValueOrDefault($"{signal}.{name}", double.NaN);
                Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"    {signal,-22} {V("live") * 100,5:0.0} → {V("candidate") * 100,5:0.0}  gain {V("gain") * 100:+0.0;-0.0} " +
                    $"[{V("low") * 100:+0.0;-0.0}, {V("high") * 100:+0.0;-0.0}]  {V("items"):0} items{(double.IsNaN(V("p")) ? "" : $"  p {V("p"):0.####}")}"));
            }

            Console.WriteLine($"    why: {round.Reason}");
        }

        return 0;
    }

    private static async Task<int> PostAsync(string url, string path, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(30) };
        if (Environment.GetEnvironmentVariable("TAO_ADMIN_KEY") is { Length: > 0 } key)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await http.PostAsync(path, null, cancellationToken);
        Console.WriteLine(await response.Content.ReadAsStringAsync(cancellationToken));
        return response.IsSuccessStatusCode ? 0 : 1;
    }
}
