using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Tao.Flywheel;
using Tao.Gateway.Hosting;
using Tao.Hosting;
using Tao.Serving;
using Tao.Storage;
using Tao.Trainer.Registry;
using Tao.Trainer.Tasks;

namespace Tao.Cli.Demo;

/// <summary>
/// The main job on one machine: the project's base model behind a local model server, the gateway in front of it with
/// the embedded store, simulated apps sending their users' prompts, and the flywheel tuning and promoting as traffic
/// accumulates. Everything runs in this process, on embedded defaults.
/// </summary>
internal sealed class DemoRun(string dataFolder, int rounds, bool demoTraffic, int seed, IEnumerable<string> configFiles, TextWriter output)
{
    private const string ShopKey = "sk-tao-demo-shop-app";
    private const string InvoiceKey = "sk-tao-demo-invoice-app";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly DateTime _start = DateTime.UtcNow;

    /// <summary>Port on which to serve the store over ClickHouse's HTTP interface (with passwords), or null: not served.</summary>
    public int? StorePort { get; init; }

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(dataFolder);
        var adminKey = Environment.GetEnvironmentVariable("TAO_ADMIN_KEY") is { Length: > 0 } given ? given : AdminKey();
        var ports = (Gateway: DemoPorts.Pick(8080), Server: DemoPorts.Pick(8000), Flywheel: DemoPorts.Pick(8090));
        var registryPath = Path.Combine(dataFolder, "registry");
        var evalFolder = Path.Combine(dataFolder, "eval");

        // 1. The store, and the base model (built once per checkout and kept).
        var storeOptions = new ClickHouseOptions { EmbeddedPath = Path.Combine(dataFolder, "clickhouse"), EmbeddedHttpPort = StorePort ?? 0 };
        await using var store = await ClickHouseStore.OpenAsync(storeOptions, cancellationToken);
        foreach (var line in EmbeddedStoreNotice.Lines(store))
        {
            Say(line.TrimStart());
        }

        await new Storage.Schema.SchemaMigrator(store).MigrateAsync(cancellationToken);
        var sql = new SqlTaskFamily(store);
        var docs = new DocumentQaTaskFamily();
        await sql.PrepareAsync(cancellationToken);
        var recipe = new BaseModelRecipe();
        Say("base model: " + (Directory.Exists(Path.Combine(".tao", "models", recipe.Key)) ? "reusing the one built earlier" : "building it (once per checkout, about 3 minutes on 2 cores)"));
        var built = await BaseModelBuilder.EnsureAsync(Path.GetFullPath(Path.Combine(".tao", "models")), recipe, store, m => Say(m), cancellationToken);
        // Each app's traffic and its labelled canary set are disjoint: the canary is never captured, so never trained on.
        // Two canary slices of 400 alternate between rounds (see Tao:Flywheel:Groups:*:Tasks:*:LabelledPerRound).
        var sqlSplit = sql.Generate(recipe.Seed, recipe.SqlQueries, 650, 800, seed);
        var docSplit = docs.Generate(recipe.Seed, recipe.Documents, 240, 160, seed);
        WriteEval(Path.Combine(evalFolder, "sql.jsonl"), sqlSplit.HeldOut);
        WriteEval(Path.Combine(evalFolder, "docqa.jsonl"), docSplit.HeldOut);

        // 2. The registry knows the base as each group's first version; the server loads every live version.
        var registry = new ModelRegistry(registryPath);
        foreach (var id in new[] { "shop-base", "invoices-base" })
        {
            if (registry.Get(id) is null)
            {
                registry.Register(built.Folder, new ModelVersion { Id = id, CreatedAt = DateTimeOffset.UtcNow, Status = VersionStatus.Base, Decision = "the project's base model" });
            }
        }

        var configuration = TaoConfiguration.Build(dataFolder, configFiles, Settings(ports, adminKey, registryPath, evalFolder));
        await using var server = ModelServerApp.Build(configuration);
        await server.StartAsync(cancellationToken);
        var host = server.Services.GetRequiredService<ModelHost>();
        foreach (var version in registry.List().Where(v => VersionStatus.CanServe(v.Status)))
        {
            host.Load(version.Id, registry.Folder(version.Id));
        }

        // 3. The gateway in front of it, and the flywheel behind.
        await using var gateway = Gateway.GatewayApp.Build(configuration, store);
        await gateway.StartAsync(cancellationToken);
        await using var flywheel = FlywheelApp.Build(configuration, store);
        var service = flywheel.Services.GetRequiredService<FlywheelService>();
        var decisions = new List<RoundRecord>();
        var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        DemoTraffic? traffic = null;
        service.RoundFinished += round =>
        {
            Say($"round {round.RoundId}: {round.Status.ToUpperInvariant()} {round.CandidateVersion} — {round.Reason}");
            lock (decisions)
            {
                decisions.Add(round);
                if (rounds > 0 && decisions.Count >= rounds)
                {
                    enough.TrySetResult();
                }
            }

            // The app's users move on to new questions: the next round tunes on inputs captured since this one.
            traffic?.Advance(round.Group == "shop" ? "shop-assistant" : "invoice-assistant");
        };
        await flywheel.StartAsync(cancellationToken);
        var gatewayUrl = new Uri($"http://127.0.0.1:{ports.Gateway}/");
        Say($"gateway: {gatewayUrl} (OpenAI base URL {gatewayUrl}v1; aliases shop-assistant, invoice-assistant); admin key {adminKey}");
        Say($"dashboard: {gatewayUrl}dashboard (sign in with the admin key); metrics: {gatewayUrl}metrics");

        // 4. Simulated apps send their users' prompts through the gateway.
        if (demoTraffic)
        {
            traffic = new DemoTraffic(gatewayUrl,
            [
                new DemoApp("shop analytics app", "shop-assistant", ShopKey, 0.5, sqlSplit.Tuning, window: 300, family: sql),
                new DemoApp("invoice desk app", "invoice-assistant", InvoiceKey, 0.5, docSplit.Tuning, family: docs),
            ], requestsPerSecond: 8);
            traffic.Start();
            Say("simulated users: two apps calling the gateway with the OpenAI client; a quarter of answers get a thumbs up or down, a few wrong ones a " +
                "corrected answer, through POST /v1/feedback (--no-demo-traffic to turn them off)");
        }

        using var ticker = new PeriodicTimer(TimeSpan.FromSeconds(10));
        while (!cancellationToken.IsCancellationRequested && !enough.Task.IsCompleted)
        {
            var tick = ticker.WaitForNextTickAsync(cancellationToken).AsTask();
            await Task.WhenAny(tick, enough.Task);
            if (tick.IsCanceled || cancellationToken.IsCancellationRequested || enough.Task.IsCompleted)
            {
                break;
            }

            Progress(service, traffic);
        }

        List<RoundRecord> decided;
        lock (decisions)
        {
            decided = [.. decisions];
        }

        if (traffic is not null)
        {
            if (decided.Count > 0 && decided[^1].Status == RoundStatus.Promoted)
            {
                Say("traffic continues for 15 s on the swapped alias ...");
                await Task.Delay(TimeSpan.FromSeconds(15), CancellationToken.None);
            }

            await traffic.StopAsync();
        }

        await SummaryAsync(store, decided, traffic, gatewayUrl, ports, registryPath, CancellationToken.None);
        await flywheel.StopAsync(CancellationToken.None);
        await gateway.StopAsync(CancellationToken.None);
        await server.StopAsync(CancellationToken.None);
        return rounds == 0 || decided.Any(r => r.Status == RoundStatus.Promoted) ? 0 : 1;
    }
    private Dictionary<string, string?> Settings((int Gateway, int Server, int Flywheel) ports, string adminKey, string registryPath, string evalFolder)
    {
        // The same scorers as the benchmark's families: verifiers gate (required), agreement ranks what passes.
        static string Rules(IEnumerable<(string QuestionPattern, string AnswerPattern)> rules) =>
            string.Join(", ", rules.Select(r => JsonSerializer.Serialize(new { question = r.QuestionPattern, answer = r.AnswerPattern })));
        var sqlScorer = $$"""
            {"scorers": [{"type": "sql", "weight": 1, "required": true, "min": 0.01}, {"type": "sql_grounding", "weight": 0.25, "required": true},
              {"type": "sql_value_coverage", "weight": 0.25, "required": true}, {"type": "field_format", "weight": 0.1, "required": true, "rules": [{{Rules(SqlTaskFamily.AskedFor)}}]}]}
            """;
        var docScorer = $$"""
            {"scorers": [{"type": "substring", "weight": 0.3, "required": true}, {"type": "majority", "weight": 0.5},
              {"type": "field_format", "weight": 0.2, "required": true, "rules": [{{Rules(DocumentQaTaskFamily.FieldFormats)}}]}]}
            """;
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Tao"] = "Warning",
            ["Tao:Gateway:Urls"] = $"http://127.0.0.1:{ports.Gateway}",
            ["Tao:Gateway:InstanceId"] = "demo",
            ["Tao:Auth:AllowAnonymous"] = "true",
            ["Tao:Auth:AdminKey"] = adminKey,
            ["Tao:Auth:Keys:0:Id"] = "key_shop_app",
            ["Tao:Auth:Keys:0:Name"] = "shop analytics app",
            ["Tao:Auth:Keys:0:Key"] = ShopKey,
            ["Tao:Auth:Keys:0:Task"] = "sql",
            ["Tao:Auth:Keys:1:Id"] = "key_invoice_app",
            ["Tao:Auth:Keys:1:Name"] = "invoice desk app",
            ["Tao:Auth:Keys:1:Key"] = InvoiceKey,
            ["Tao:Auth:Keys:1:Task"] = "docqa",
            ["Tao:Capture:ClickHouse:LingerMs"] = "500",
            ["ReverseProxy:Clusters:tao-models:Destinations:local:Address"] = $"http://127.0.0.1:{ports.Server}/",
            ["ReverseProxy:Clusters:tao-models:HttpRequest:ActivityTimeout"] = "00:05:00",
            ["Tao:Models:shop-base:Cluster"] = "tao-models",
            ["Tao:Models:shop-base:Version"] = "shop-base",
            ["Tao:Models:invoices-base:Cluster"] = "tao-models",
            ["Tao:Models:invoices-base:Version"] = "invoices-base",
            ["Tao:Aliases:shop-assistant"] = "shop-base",
            ["Tao:Aliases:invoice-assistant"] = "invoices-base",
            ["Tao:Feedback:Metrics:thumbs_up:Type"] = "Boolean",
            ["Tao:Analytics:Prices:shop-assistant:Prompt"] = "0.15",
            ["Tao:Analytics:Prices:shop-assistant:Completion"] = "0.60",
            ["Tao:Analytics:Prices:invoice-assistant:Prompt"] = "0.15",
            ["Tao:Analytics:Prices:invoice-assistant:Completion"] = "0.60",
            ["Tao:Serve:Urls"] = $"http://127.0.0.1:{ports.Server}",
            ["Tao:Serve:AdminKey"] = adminKey,
            ["Tao:Flywheel:Urls"] = $"http://127.0.0.1:{ports.Flywheel}",
            ["Tao:Flywheel:GatewayUrl"] = $"http://127.0.0.1:{ports.Gateway}",
            ["Tao:Flywheel:GatewayAdminKey"] = adminKey,
            ["Tao:Flywheel:RegistryPath"] = registryPath,
            ["Tao:Flywheel:WorkPath"] = Path.Combine(dataFolder, "flywheel"),
            ["Tao:Flywheel:PollSeconds"] = "5",
        };
        void Group(string name, string alias, string baseVersion, string task, string scorer, int threshold, Dictionary<string, string>? context = null)
        {
            var prefix = $"Tao:Flywheel:Groups:{name}";
            settings[$"{prefix}:Alias"] = alias;
            settings[$"{prefix}:BaseVersion"] = baseVersion;
            settings[$"{prefix}:Threshold"] = threshold.ToString(Inv);
            settings[$"{prefix}:MaxInputs"] = (threshold + threshold / 4).ToString(Inv);
            settings[$"{prefix}:MinIntervalMinutes"] = "1";
            settings[$"{prefix}:Tasks:{task}:Scorer"] = scorer;
            settings[$"{prefix}:Tasks:{task}:LabelledEval"] = Path.Combine(evalFolder, $"{task}.jsonl");
            settings[$"{prefix}:Tasks:{task}:LabelledPerRound"] = "400";
            settings[$"{prefix}:Tasks:{task}:FeedbackMetric"] = "thumbs_up"; // users' thumbs and corrections join the round (recorded as labelled)
            foreach (var (key, value) in context ?? [])
            {
                settings[$"{prefix}:Tasks:{task}:Context:{key}"] = value;
            }

            settings[$"{prefix}:Target:Kind"] = "Local";
            settings[$"{prefix}:Target:Cluster"] = "tao-models";
            settings[$"{prefix}:Target:ServerUrl"] = $"http://127.0.0.1:{ports.Server}";
            settings[$"{prefix}:Target:ServerAdminKey"] = adminKey;
        }

        Group("shop", "shop-assistant", "shop-base", "sql", sqlScorer, 200, new Dictionary<string, string> { ["database"] = "tao_shop" });
        // Copying values out of documents is learned from many documents, not a few: the invoice desk tunes on 800 inputs.
        Group("invoices", "invoice-assistant", "invoices-base", "docqa", docScorer, 800);
        settings["Tao:Flywheel:Groups:invoices:Round:GroundIn"] = DocumentQaTaskFamily.DocumentKey; // answers are spans of the document (as its scorer requires)
        return settings;
    }

    private static void WriteEval(string path, IReadOnlyList<LabelledExample> examples) =>
        LabelledSet.Write(path, examples.Select(e => new LabelledEvalExample(e.Prompt.Messages, e.Gold,
            (IReadOnlyDictionary<string, string>?)e.Prompt.Context ?? new Dictionary<string, string>())));

    private void Progress(FlywheelService service, DemoTraffic? traffic)
    {
        var groups = string.Join(" | ", service.Status.OrderBy(s => s.Group).Select(s =>
            $"{s.Group}: live {s.LiveVersion}, {s.NewInputs}/{s.Threshold} new inputs" +
            (s.ActiveRound is null ? "" : s.Progress is { } p ? $", round: iteration {p.Iteration}/{p.Iterations} {p.Stage} {p.Done}/{p.Total}" : ", round starting")));
        var calls = traffic is null ? "" : $"traffic {traffic.Ok} answered, {traffic.Failed} failed | ";
        Say(calls + groups);
    }

    private async Task SummaryAsync(ClickHouseStore store, IReadOnlyList<RoundRecord> decided, DemoTraffic? traffic, Uri gateway,
        (int Gateway, int Server, int Flywheel) ports, string registryPath, CancellationToken cancellationToken)
    {
        output.WriteLine();
        if (decided.Count > 0)
        {
            output.WriteLine("Flywheel rounds: each tuned on captured inputs without labels, then compared with the live version item by item — " +
                             "on the app's labelled canary set (never captured, never trained on) and on the round's held-out captured inputs " +
                             "(does the answer pass the task's verifiers). Gains with their 95 % interval; promoted only when an interval clears 0 " +
                             "and none falls below it.");
            output.WriteLine();
            output.WriteLine("| round | task | signal | items | live | tuned | gain [95 % CI] | McNemar p | decision |");
            output.WriteLine("|---|---|---|---:|---:|---:|---|---:|---|");
            foreach (var round in decided)
            {
                foreach (var task in round.Tasks)
                {
                    foreach (var kind in new[] { "labelled", "verified" })
                    {
                        var key = $"{kind}.{task}";
                        if (!round.Evaluation.TryGetValue($"{key}.gain", out var gain))
                        {
                            continue;
                        }

                        double V(string name) => round.Evaluation.GetValueOrDefault($"{key}.{name}", double.NaN);
                        output.WriteLine(string.Create(Inv,
                            $"| {round.RoundId} | {task} | {(kind == "labelled" ? "labelled canary accuracy" : "verified on held-out inputs")} | " +
                            $"{V("items"):0} | {V("live") * 100:0.0} % | {V("candidate") * 100:0.0} % | " +
                            $"{gain * 100:+0.0;-0.0} [{V("low") * 100:+0.0;-0.0}, {V("high") * 100:+0.0;-0.0}] | " +
                            $"{(double.IsNaN(V("p")) ? "—" : V("p") < 0.001 ? "<0.001" : V("p").ToString("0.000", Inv))} | {round.Status} |"));
                    }
                }
            }

            output.WriteLine();
            foreach (var round in decided)
            {
                var users = round.Evaluation.GetValueOrDefault("round.labelled_targets");
                var down = round.Evaluation.GetValueOrDefault("round.rejected_answers");
                output.WriteLine($"{round.RoundId}: {round.Status} {round.CandidateVersion} — {round.Reason}; tuned on {round.TuningInputs} inputs in {round.DurationSeconds:0} s " +
                                 $"({users:0} with a target from users' feedback, {down:0} answers rated down kept from scoring; the rest label-free)" +
                                 RewardModelNote(round.Evaluation));
            }
        }

        output.WriteLine();
        if (traffic is not null)
        {
            output.WriteLine($"Traffic from the simulated apps: {traffic.Ok} answered, {traffic.Failed} failed; answered by " +
                string.Join(", ", traffic.ServedBy.Select(s => $"{s.Key} {s.Value}")) + (traffic.LastError is null ? "" : $"; last error: {traffic.LastError}"));
        }

        // Feedback-driven results next to the label-free ones: what the simulated users said about each version's answers.
        using (var rated = await store.Client.ExecuteReaderAsync(
            $"SELECT c.model_version, count(), countIf(f.value >= 0.5) FROM (SELECT target_id, value FROM {store.Database}.feedback FINAL " +
            $"WHERE metric = 'thumbs_up' AND value IS NOT NULL) AS f INNER JOIN {store.Database}.captures AS c ON toString(c.request_id) = f.target_id " +
            "GROUP BY c.model_version ORDER BY min(c.started_at)", cancellationToken: cancellationToken))
        {
            var lines = new List<string>();
            while (rated.Read())
            {
                var (n, up) = (Convert.ToInt64(rated.GetValue(1)), Convert.ToInt64(rated.GetValue(2)));
                var half = n > 0 ? 1.96 * Math.Sqrt((double)up / n * (1 - (double)up / n) / n) : 0;
                lines.Add(string.Create(Inv, $"  {rated.GetString(0)}: {up} of {n} rated answers thumbs up, {100.0 * up / Math.Max(1, n):0.0} % [±{half * 100:0.0}]"));
            }

            if (lines.Count > 0)
            {
                output.WriteLine($"What users said (POST /v1/feedback, metric thumbs_up; {traffic?.Rated ?? 0} ratings and {traffic?.Demonstrations ?? 0} corrected answers sent) — per version:");
                lines.ForEach(output.WriteLine);
                output.WriteLine("  (./tao stats --metric thumbs_up -g version shows the same; the flywheel used the thumbs and corrections as labelled targets, counted per round above)");
                output.WriteLine();
            }
        }

        using var reader = await store.Client.ExecuteReaderAsync(
            $"SELECT served_model, count(), countIf(status >= 400), sum(prompt_tokens + completion_tokens), quantile(0.5)(latency_ms), quantile(0.99)(latency_ms) " +
            $"FROM {store.Database}.captures FINAL GROUP BY served_model ORDER BY served_model", cancellationToken: cancellationToken);
        output.WriteLine("Captured calls (embedded ClickHouse):");
        while (reader.Read())
        {
            output.WriteLine(string.Create(Inv,
                $"  {reader.GetString(0)}: {reader.GetValue(1)} calls, {reader.GetValue(2)} errors, {reader.GetValue(3)} tokens, " +
                $"latency p50 {reader.GetDouble(4):0.0} ms, p99 {reader.GetDouble(5):0.0} ms"));
        }

        output.WriteLine();
        output.WriteLine($"Where to look: dashboard {gateway}dashboard (admin key {AdminKeyHint}) | ./tao stats -g version, ./tao top-prompts | gateway {gateway} | " +
                         $"metrics {gateway}metrics | flywheel status http://127.0.0.1:{ports.Flywheel}/flywheel/status | " +
                         $"store: {StoreAccess(store)}, files in {Path.Combine(dataFolder, "clickhouse")} | registry {registryPath}");
    }

    private const string AdminKeyHint = "printed above";

    private static string StoreAccess(ClickHouseStore store) => store.EmbeddedHttpCredentials is { } credentials
        ? $"ClickHouse HTTP on {store.EmbeddedHttpEndpoint} (database {store.Database}; users {credentials.Admin.Name} and {credentials.Reader.Name}, " +
          $"passwords {(credentials.File is { } file ? "in " + file : "as configured")})"
        : "not served over HTTP (--store-port 8123 serves it, with passwords)";

    private void Say(string message) => output.WriteLine($"[{(DateTime.UtcNow - _start).TotalSeconds,5:0}s] {message}");

    private static string AdminKey() => "tao-admin-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>What the round's reward model, trained on users' thumbs, came to: its pairs, its accuracy on pairs held aside, and whether it was used.</summary>
    private static string RewardModelNote(IReadOnlyDictionary<string, double> evaluation)
    {
        var notes = evaluation.Keys.Where(k => k.StartsWith("reward_model.", StringComparison.Ordinal) && k.EndsWith(".pairs", StringComparison.Ordinal))
            .Select(k => k[..^".pairs".Length])
            .Select(key => (Task: key["reward_model.".Length..], Pairs: evaluation[key + ".pairs"], Used: evaluation.GetValueOrDefault(key + ".used") > 0,
                Accuracy: evaluation.GetValueOrDefault(key + ".held_accuracy", double.NaN)))
            .Select(m => m.Pairs == 0 ? $"{m.Task}: too few rated answers for a reward model"
                : string.Create(Inv, $"{m.Task}: a reward model trained on {m.Pairs:0} pairs of rated answers, {m.Accuracy * 100:0} % right on pairs held aside, ") +
                  (m.Used ? "joined the training score" : "not used (not better than chance beyond the noise)"))
            .ToList();
        return notes.Count == 0 ? string.Empty : "; " + string.Join("; ", notes);
    }
}
