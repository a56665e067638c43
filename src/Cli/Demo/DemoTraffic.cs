using System.ClientModel;
using System.Collections.Concurrent;
using OpenAI;
using OpenAI.Chat;
using Tao.Trainer.Tasks;

namespace Tao.Cli.Demo;

/// <summary>
/// Simulated users: apps calling the gateway with the official OpenAI client, each with its own API key (and so its task
/// tag), sending prompts drawn from their task's traffic. Counts every answer and failure, and which version answered.
/// Some users rate what they got (thumbs up when the answer is right — they know, it is their data), and a few correct
/// a wrong answer (a demonstration), both through POST /v1/feedback as an app would.
/// </summary>
internal sealed class DemoTraffic(Uri gateway, IReadOnlyList<DemoApp> apps, double requestsPerSecond, int workers = 4,
    double rateShare = 0.25, double correctShare = 0.02)
{
    private long _rated;
    private long _demonstrations;

    public long Rated => Interlocked.Read(ref _rated);
    public long Demonstrations => Interlocked.Read(ref _demonstrations);

    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, long> _servedBy = new(StringComparer.Ordinal);
    private readonly List<Task> _workers = [];
    private long _ok;
    private long _failed;

    public long Ok => Interlocked.Read(ref _ok);
    public long Failed => Interlocked.Read(ref _failed);
    public IReadOnlyDictionary<string, long> ServedBy => _servedBy;
    public string? LastError { get; private set; }

    public void Start()
    {
        var interval = TimeSpan.FromSeconds(workers / requestsPerSecond);
        for (var w = 0; w < workers; w++)
        {
            var random = new Random(1000 + w);
            _workers.Add(Task.Run(async () =>
            {
                var clients = apps.ToDictionary(a => a, a => new ChatClient(a.Alias, new ApiKeyCredential(a.Key),
                    new OpenAIClientOptions { Endpoint = new Uri(gateway, "/v1"), NetworkTimeout = TimeSpan.FromMinutes(2) }));
                var feedback = apps.ToDictionary(a => a, a =>
                {
                    var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
                    http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", a.Key);
                    return http;
                });
                while (!_stop.IsCancellationRequested)
                {
                    var app = Pick(random);
                    var example = app.Next(random);
                    var prompt = example.Prompt;
                    try
                    {
                        var messages = prompt.Messages.Select<Tao.Trainer.Tokenization.ChatMessage, ChatMessage>(m =>
                            m.Role == "system" ? new SystemChatMessage(m.Content) : new UserChatMessage(m.Content)).ToList();
                        var result = await clients[app].CompleteChatAsync(messages,
                            new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 48 }, _stop.Token);
                        Interlocked.Increment(ref _ok);
                        _servedBy.AddOrUpdate(result.Value.Model, 1, (_, n) => n + 1);
                        if (app.Family is { } family && random.NextDouble() < rateShare
                            && result.GetRawResponse().Headers.TryGetValue(Tao.Capture.TaoHeaders.RequestId, out var requestId))
                        {
                            var answer = result.Value.Content.Count > 0 ? result.Value.Content[0].Text : string.Empty;
                            var right = await family.IsCorrectAsync(example, answer, _stop.Token);
                            using var rated = await feedback[app].PostAsJsonAsync("/v1/feedback",
                                new { request_id = requestId, metric = "thumbs_up", value = right }, _stop.Token);
                            Interlocked.Increment(ref _rated);
                            if (!right && random.NextDouble() < correctShare / rateShare)
                            {
                                using var corrected = await feedback[app].PostAsJsonAsync("/v1/feedback",
                                    new { request_id = requestId, metric = "demonstration", demonstration = example.Gold }, _stop.Token);
                                Interlocked.Increment(ref _demonstrations);
                            }
                        }
                    }
                    catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                    {
                        break;
                    }
                    catch (Exception e)
                    {
                        Interlocked.Increment(ref _failed);
                        LastError = e.Message;
                    }

                    try
                    {
                        await Task.Delay(interval, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }));
        }
    }

    private DemoApp Pick(Random random)
    {
        var total = apps.Sum(a => a.Share);
        var roll = random.NextDouble() * total;
        foreach (var app in apps)
        {
            roll -= app.Share;
            if (roll <= 0)
            {
                return app;
            }
        }

        return apps[^1];
    }

    /// <summary>The app behind an alias moves on to new prompts.</summary>
    public void Advance(string alias)
    {
        foreach (var app in apps.Where(a => a.Alias == alias))
        {
            app.Advance();
        }
    }

    public async Task StopAsync()
    {
        _stop.Cancel();
        await Task.WhenAll(_workers);
    }
}

/// <summary>
/// An app and its users' prompts. Users ask from a window of the app's prompts; <see cref="Advance"/> moves the window on
/// (after a round), so the next round has new inputs to tune on — as an app's users keep asking new things.
/// </summary>
internal sealed class DemoApp(string name, string alias, string key, double share, IReadOnlyList<LabelledExample> prompts, int window = 0,
    ITaskFamily? family = null)
{
    /// <summary>The family that knows whether an answer is right (the simulated users' judgement); null: users never rate.</summary>
    public ITaskFamily? Family => family;

    public string Name => name;
    public string Alias => alias;
    public string Key => key;
    public double Share => share;
    public IReadOnlyList<LabelledExample> Prompts => prompts;
    public int Window => window;

    private int _start;

    public LabelledExample Next(Random random)
    {
        var window = Window <= 0 || Window >= Prompts.Count ? Prompts.Count : Window;
        return Prompts[(Volatile.Read(ref _start) + random.Next(window)) % Prompts.Count];
    }

    public void Advance() => Interlocked.Add(ref _start, Window);
}
