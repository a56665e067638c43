using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using Tao.Trainer.Scoring;

namespace Tao.Flywheel.Tests;

/// <summary>
/// The loop end to end on loopback: calls through the gateway are captured, the flywheel notices them, tunes the live
/// version, evaluates it on held-out inputs, and moves the alias — or refuses to.
/// </summary>
public sealed class FlywheelLoopTests
{
    [Fact]
    public async Task CaptureReader_CountsDistinctSuccessfulChatPromptsSinceTheWatermark()
    {
        await using var stack = await FlywheelStack.StartAsync();
        await stack.SendAsync(6);
        await stack.SendAsync(6); // the same six prompts again
        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        using var failed = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "no-such-model", messages = new[] { new { role = "user", content = "never answered" } } }),
        };
        failed.Headers.Add("x-tao-task", FlywheelStack.Task);
        Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(failed)).StatusCode);

        var reader = new CaptureReader(stack.Store);
        Assert.Equal(6, await reader.CountNewAsync([FlywheelStack.Task], DateTime.UnixEpoch, default));
        Assert.Equal(0, await reader.CountNewAsync(["other-task"], DateTime.UnixEpoch, default));

        var inputs = await reader.ReadAsync([FlywheelStack.Task], DateTime.UnixEpoch, newer: true, 100, default);
        Assert.Equal(6, inputs.Count);
        Assert.All(inputs, i => Assert.Equal("user", i.Messages.Single().Role));
        var watermark = inputs.Max(i => i.StartedAt);
        var newest = await stack.Store.Client.ExecuteScalarAsync($"SELECT toString(max(started_at)) FROM {stack.Store.Database}.captures WHERE status = 200");
        Assert.True(0 == await reader.CountNewAsync([FlywheelStack.Task], watermark, default), $"watermark {watermark:O} ({watermark.Kind}), newest {newest}");
        Assert.Equal(6, (await reader.ReadAsync([FlywheelStack.Task], watermark, newer: false, 100, default)).Count);
    }

    [Fact]
    public async Task ReachingTheThreshold_RunsOneRound_PromotesAndMovesTheWatermark()
    {
        await using var stack = await FlywheelStack.StartAsync(new()
        {
            ["Tao:Flywheel:PollSeconds"] = "1",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Threshold"] = "12",
        }, startFlywheel: true);
        var finished = new List<RoundRecord>();
        stack.Service.RoundFinished += r => { lock (finished) { finished.Add(r); } };

        await stack.SendAsync(11);
        await Task.Delay(2500);
        Assert.Empty(finished); // below the threshold nothing happens

        await stack.SendAsync(1, offset: 11);
        var round = await WaitForRoundAsync(finished, 1);
        Assert.Equal("promoted", round.Decision);
        Assert.Equal(12, round.Inputs);
        Assert.True(round.HeldOutInputs > 0 && round.TuningInputs > 0, $"tuning {round.TuningInputs}, held out {round.HeldOutInputs}");
        Assert.Equal(FlywheelStack.BaseVersion, round.ParentVersion);
        Assert.Equal(round.CandidateVersion, await stack.AliasTargetAsync());
        Assert.Contains($"verified.{FlywheelStack.Task}.candidate", round.Evaluation.Keys);
        Assert.Contains($"verified.{FlywheelStack.Task}.low", round.Evaluation.Keys);

        var version = stack.Registry.Get(round.CandidateVersion)!;
        Assert.Equal(FlywheelStack.BaseVersion, version.Parent);
        Assert.Equal("promoted", version.Status);
        Assert.Equal(12, version.Data!.Inputs);
        stack.Registry.Verify(version.Id);
        Assert.Equal([FlywheelStack.BaseVersion, version.Id], stack.Registry.Lineage(version.Id).Select(v => v.Id));

        // The watermark moved past those inputs: later polls start nothing new.
        await Task.Delay(2500);
        Assert.Single(finished);
        Assert.Single(await stack.Rounds.RoundsAsync(FlywheelStack.Group, default));
        var inputs = Convert.ToInt64(await stack.Store.Client.ExecuteScalarAsync(
            $"SELECT count() FROM {stack.Store.Database}.round_inputs WHERE round_id = '{round.RoundId}'"));
        Assert.Equal(12, inputs);

        // Calls on the alias are now answered by the promoted version, and captured as such.
        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        var answer = await http.PostAsJsonAsync("/v1/chat/completions", new { model = FlywheelStack.Alias, max_tokens = 4, messages = new[] { new { role = "user", content = "after" } } });
        answer.EnsureSuccessStatusCode();
        Assert.Equal(version.Id, JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("model").GetString());
    }

    [Fact]
    public async Task ACandidateThatDoesNotBeatTheMargin_IsRegisteredAsRejected_AndTheAliasStays()
    {
        await using var stack = await FlywheelStack.StartAsync(new()
        {
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Margin"] = "1", // no interval of a gain on a [0, 1] score can clear 1
        });
        await stack.SendAsync(12); // twelve prompts: some are held out (by prompt hash), so the gate has evidence

        var round = await stack.Service.RunNowAsync(FlywheelStack.Group, default);
        Assert.NotNull(round);
        Assert.Equal("rejected", round.Decision);
        Assert.Contains("no gain clears the margin", round.Reason);
        Assert.Equal(FlywheelStack.BaseVersion, await stack.AliasTargetAsync());
        Assert.Equal("rejected", stack.Registry.Get(round.CandidateVersion)!.Status);
        var stored = (await stack.Rounds.RoundsAsync(FlywheelStack.Group, default)).Single();
        Assert.Equal("rejected", stored.Status);
        Assert.Equal(round.Reason, stored.Reason);
    }

    [Fact]
    public async Task ARound_IsAlsoJudgedOnItsSliceOfTheLabelledCanary_AndRecordsEveryNumber()
    {
        var canary = Path.Combine(Path.GetTempPath(), $"tao-canary-{Guid.NewGuid():N}.jsonl");
        LabelledSet.Write(canary, Enumerable.Range(0, 30).Select(i => new LabelledEvalExample(
            [new Tao.Trainer.Tokenization.ChatMessage("user", $"canary question {i}")], "a", new Dictionary<string, string>())));
        await using var stack = await FlywheelStack.StartAsync(new()
        {
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Tasks:{FlywheelStack.Task}:LabelledEval"] = canary,
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Tasks:{FlywheelStack.Task}:LabelledPerRound"] = "10",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Round:Seed"] = "424242",
        });
        await stack.SendAsync(12);

        var round = await stack.Service.RunNowAsync(FlywheelStack.Group, default);

        Assert.NotNull(round);
        Assert.Equal(424242, round.Evaluation["round.seed"]); // the configured seed, recorded so the round can be rerun
        Assert.Equal(10, round.Evaluation[$"labelled.{FlywheelStack.Task}.items"]); // this round's slice, not the whole set
        foreach (var name in new[] { "live", "candidate", "gain", "low", "high", "p" })
        {
            Assert.Contains($"labelled.{FlywheelStack.Task}.{name}", round.Evaluation.Keys);
        }

        var stored = (await stack.Rounds.RoundsAsync(FlywheelStack.Group, default)).Single();
        Assert.Equal(round.Evaluation[$"labelled.{FlywheelStack.Task}.gain"], stored.Evaluation[$"labelled.{FlywheelStack.Task}.gain"]);
        Assert.Contains("labelled.", round.Reason + string.Join(",", round.Evaluation.Keys));
    }

    [Fact]
    public async Task UsersFeedback_ReachesTheRound_DemonstrationsAsTargets_AnswersRatedDownRejected()
    {
        await using var stack = await FlywheelStack.StartAsync(new()
        {
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Tasks:{FlywheelStack.Task}:FeedbackMetric"] = "thumbs_up",
        });
        await stack.SendAsync(12);
        var ids = await stack.AnsweredRequestIdsAsync();

        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        foreach (var id in ids)
        {
            (await http.PostAsJsonAsync("/v1/feedback", new { request_id = id, metric = "demonstration", demonstration = "select count(*) from orders" })).EnsureSuccessStatusCode();
            (await http.PostAsJsonAsync("/v1/feedback", new { request_id = id, metric = "thumbs_up", value = false })).EnsureSuccessStatusCode();
        }

        await stack.WaitForFeedbackAsync(2 * ids.Count);

        var round = await stack.Service.RunNowAsync(FlywheelStack.Group, default);

        Assert.NotNull(round);
        Assert.True(round.TuningInputs > 0);
        Assert.Equal(round.TuningInputs, round.Evaluation["round.labelled_targets"]); // every tuning input has a demonstration
        Assert.Equal(round.TuningInputs, round.Evaluation["round.rejected_answers"]); // and the live answer users rated down
    }

    [Fact]
    public async Task AnswersUsersRated_TrainTheRoundsRewardModel_SavedForReuse_AndUsedOnlyWhenItBeatsChanceOnPairsHeldAside()
    {
        var task = $"Tao:Flywheel:Groups:{FlywheelStack.Group}:Tasks:{FlywheelStack.Task}";
        await using var stack = await FlywheelStack.StartAsync(new()
        {
            [$"{task}:FeedbackMetric"] = "thumbs_up",
            [$"{task}:UseDemonstrations"] = "false",
            [$"{task}:RewardModelWeight"] = "0.3",
            [$"{task}:RewardModelMinPairs"] = "8",
        });
        await stack.SendAsync(40);
        var ids = await stack.AnsweredRequestIdsAsync();

        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        for (var i = 0; i < ids.Count; i++)
        {
            (await http.PostAsJsonAsync("/v1/feedback", new { request_id = ids[i], metric = "thumbs_up", value = i % 2 == 0 })).EnsureSuccessStatusCode();
        }

        await stack.WaitForFeedbackAsync(ids.Count);

        var round = await stack.Service.RunNowAsync(FlywheelStack.Group, default);

        Assert.NotNull(round);
        var key = $"reward_model.{FlywheelStack.Task}";
        // Only the tuning inputs' ratings train it (the held-out inputs judge the round): about 28 of the 40, half rated up.
        Assert.InRange(round.Evaluation[$"{key}.pairs"], 8, 2 * round.TuningInputs);
        var beatsChance = round.Evaluation.TryGetValue($"{key}.held_low", out var low) && low > 0.5; // Wilson 95 % lower bound
        Assert.Equal(beatsChance ? 1 : 0, round.Evaluation[$"{key}.used"]);

        // Saved with its tokenizer, the model is a reward_model scorer any later configuration can name.
        var saved = Path.Combine(stack.Configuration["Tao:Flywheel:WorkPath"]!, "rounds", round.RoundId, "reward-model", FlywheelStack.Task);
        var scorer = ScorerFactory.FromJson($$"""[{"type": "reward_model", "path": {{JsonSerializer.Serialize(saved)}}}]""", new());
        var scores = await scorer.ScoreAsync(new ScoringGroup("question number 1 about orders", ["a", "b"]), default);
        Assert.All(scores, s => Assert.InRange(s, 0, 1));
    }

    [Fact]
    public async Task ACanaryUsersRateDown_IsRolledBack_WithTheReasonRecorded()
    {
        await using var stack = await FlywheelStack.StartAsync(new()
        {
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:CanaryPercent"] = "50",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:CanarySeconds"] = "4",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:CanaryFeedbackMetric"] = "thumbs_up",
            // However slow the machine, the decision waits for 3 rated calls on each side.
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:CanaryMinCalls"] = "3",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:CanaryMaxSeconds"] = "120",
        });
        await stack.SendAsync(12);
        await stack.Flywheel.StartAsync();
        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        using var stop = new CancellationTokenSource();
        var rated = 0;
        // Users like the live version's answers and dislike the new one's.
        var load = Enumerable.Range(0, 3).Select(worker => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await http.PostAsJsonAsync("/v1/chat/completions",
                    new { model = FlywheelStack.Alias, max_tokens = 4, messages = new[] { new { role = "user", content = $"canary {worker}" } } });
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                var id = response.Headers.GetValues("x-tao-request-id").Single();
                var liked = body.RootElement.GetProperty("model").GetString() == FlywheelStack.BaseVersion;
                (await http.PostAsJsonAsync("/v1/feedback", new { request_id = id, metric = "thumbs_up", value = liked })).EnsureSuccessStatusCode();
                Interlocked.Increment(ref rated);
            }
        })).ToList();

        var round = await stack.Service.RunNowAsync(FlywheelStack.Group, default);
        stop.Cancel();
        await Task.WhenAll(load);

        Assert.NotNull(round);
        Assert.Equal("rolled_back", round.Decision);
        Assert.Contains("feedback.thumbs_up", round.Reason);
        Assert.True(round.Evaluation["feedback.thumbs_up.high"] < 0, $"{rated} calls rated");
        Assert.Equal(FlywheelStack.BaseVersion, await stack.AliasTargetAsync());
    }

    [Fact]
    public async Task AnExternalTrainer_GetsTheScoredCandidates_AndItsAdapterIsEvaluatedAndRegistered()
    {
        // What an external job would leave: a PEFT adapter for the live model (here made with Tao's own exporter).
        var adapter = TestEngine.NewFolder("external-adapter");
        using (var model = Tao.Trainer.Checkpoints.ModelCheckpoint.Load(TinyBase.Folder))
        {
            var options = new Tao.Trainer.Lora.LoraOptions { Rank = 2, Alpha = 4 };
            var adapters = Tao.Trainer.Lora.LoraAdapters.Apply(model, options);
            TorchSharp.torch.manual_seed(3);
            using (TorchSharp.torch.no_grad())
            {
                foreach (var lora in adapters.Values)
                {
                    lora.lora_B.weight!.copy_(TorchSharp.torch.randn_like(lora.lora_B.weight!) * 0.05);
                }
            }

            Tao.Trainer.Lora.LoraAdapters.ExportPeft(adapters, options, adapter, "base");
        }

        var command = $"test -s \"$TAO_ROUND_INPUT/candidates.jsonl\" && test -s \"$TAO_ROUND_INPUT/round.json\" && test -d \"$TAO_BASE_MODEL\" " +
                      $"&& echo \"training on $(wc -l < \"$TAO_ROUND_INPUT/candidates.jsonl\") groups\" && cp '{adapter}'/* \"$TAO_ROUND_OUTPUT\"/";
        await using var stack = await FlywheelStack.StartAsync(new() { [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Round:ExternalCommand"] = command });
        await stack.SendAsync(12);

        var round = await stack.Service.RunNowAsync(FlywheelStack.Group, default);

        Assert.NotNull(round);
        Assert.True(round.Decision is "promoted" or "rejected", $"{round.Decision}: {round.Reason}");
        Assert.Equal(1, round.Evaluation["round.external"]);
        Assert.Equal(1, round.Evaluation["external.adapter"]);
        Assert.Equal(round.TuningInputs, round.Evaluation["external.groups"]);
        Assert.Contains($"verified.{FlywheelStack.Task}.candidate", round.Evaluation.Keys); // evaluated as any candidate
        using var parent = Tao.Trainer.Checkpoints.ModelCheckpoint.Load(stack.Registry.Folder(FlywheelStack.BaseVersion));
        using var candidate = Tao.Trainer.Checkpoints.ModelCheckpoint.Load(stack.Registry.Folder(round.CandidateVersion));
        var parentWeights = parent.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Contains(candidate.named_parameters(), p => !p.parameter.allclose(parentWeights[p.name])); // the adapter, merged

        await using var failing = await FlywheelStack.StartAsync(new() { [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Round:ExternalCommand"] = "echo no GPU today >&2; exit 7" });
        await failing.SendAsync(12);
        var failed = await failing.Service.RunNowAsync(FlywheelStack.Group, default);
        Assert.NotNull(failed);
        Assert.Equal("failed", failed.Decision);
        Assert.Contains("code 7", failed.Reason);
    }

    [Fact]
    public async Task HotSwapUnderLoad_FailsNoCall_AndRollbackRestoresTheParent()
    {
        await using var stack = await FlywheelStack.StartAsync(new()
        {
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:CanaryPercent"] = "50",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:CanarySeconds"] = "1",
        });
        await stack.SendAsync(12); // twelve prompts: some are held out (by prompt hash), so the gate has evidence
        await stack.Flywheel.StartAsync();

        var client = new ChatClient(FlywheelStack.Alias, new ApiKeyCredential(FlywheelStack.ClientKey), new OpenAIClientOptions { Endpoint = new Uri(stack.GatewayUrl, "v1") });
        using var stop = new CancellationTokenSource();
        var served = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var calls = 0;
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    if (worker % 2 == 0)
                    {
                        var completion = (await client.CompleteChatAsync([new UserChatMessage($"load {worker}")], new ChatCompletionOptions { MaxOutputTokenCount = 4 })).Value;
                        served.AddOrUpdate(completion.Model, 1, (_, n) => n + 1);
                    }
                    else
                    {
                        var model = string.Empty;
                        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage($"stream {worker}")], new ChatCompletionOptions { MaxOutputTokenCount = 4 }))
                        {
                            model = update.Model ?? model;
                        }

                        served.AddOrUpdate(model, 1, (_, n) => n + 1);
                    }

                    Interlocked.Increment(ref calls);
                }
                catch (Exception e)
                {
                    failures.Enqueue(e.Message);
                }
            }
        })).ToList();

        var round = await stack.Service.RunNowAsync(FlywheelStack.Group, default);
        // The load runs on until both versions have served and 20 calls ran (waits for a state; a slow machine takes longer).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!(calls > 20 && round is not null && served.ContainsKey(FlywheelStack.BaseVersion) && served.ContainsKey(round.CandidateVersion))
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        stop.Cancel();
        await Task.WhenAll(load);

        Assert.NotNull(round);
        Assert.Equal("promoted", round.Decision);
        Assert.Empty(failures);
        Assert.True(calls > 20, $"only {calls} calls ran during the round");
        Assert.True(served.ContainsKey(FlywheelStack.BaseVersion) && served.ContainsKey(round.CandidateVersion),
            "calls were served by: " + string.Join(", ", served.Select(s => $"{s.Key}={s.Value}")));
        Assert.Equal(round.CandidateVersion, await stack.AliasTargetAsync());

        using var http = new HttpClient { BaseAddress = stack.FlywheelUrl };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync($"/flywheel/groups/{FlywheelStack.Group}/rollback", null)).StatusCode);
        using var rollback = new HttpRequestMessage(HttpMethod.Post, $"/flywheel/groups/{FlywheelStack.Group}/rollback");
        rollback.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FlywheelStack.AdminKey);
        var response = await http.SendAsync(rollback);
        response.EnsureSuccessStatusCode();
        Assert.Equal(FlywheelStack.BaseVersion, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("live").GetString());
        Assert.Equal(FlywheelStack.BaseVersion, await stack.AliasTargetAsync());
        Assert.Equal("rolled_back", stack.Registry.Get(round.CandidateVersion)!.Status);
        Assert.Equal(FlywheelStack.BaseVersion, (await client.CompleteChatAsync([new UserChatMessage("after rollback")])).Value.Model);

        var status = JsonDocument.Parse(await http.GetStringAsync("/flywheel/status")).RootElement;
        Assert.Equal(FlywheelStack.Group, status[0].GetProperty("group").GetString());
    }

    [Fact]
    public async Task ARoundInterruptedByARestart_IsResumedFromItsFolder()
    {
        await using var stack = await FlywheelStack.StartAsync(new()
        {
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Round:Iterations"] = "3",
        });
        await stack.SendAsync(12); // twelve prompts: some are held out (by prompt hash), so the gate has evidence

        using var interrupt = new CancellationTokenSource();
        var running = stack.Service.RunNowAsync(FlywheelStack.Group, interrupt.Token);
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (stack.Runner.Progress is not { Iteration: >= 2 } && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.True(stack.Runner.Progress is { Iteration: >= 2 }, "the round reached its second iteration");

        interrupt.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        var interrupted = (await stack.Rounds.RoundsAsync(FlywheelStack.Group, default)).Single();
        Assert.Equal("running", interrupted.Status);

        await stack.RestartFlywheelAsync();
        var finished = new List<RoundRecord>();
        stack.Service.RoundFinished += r => { lock (finished) { finished.Add(r); } };
        await stack.Flywheel.StartAsync();
        var round = await WaitForRoundAsync(finished, 1);
        Assert.Equal(interrupted.RoundId, round.RoundId);
        Assert.Equal("promoted", round.Decision);
        Assert.Equal(round.CandidateVersion, await stack.AliasTargetAsync());
        Assert.Single(await stack.Rounds.RoundsAsync(FlywheelStack.Group, default));
    }

    [Fact]
    public async Task ARoundWhoseFolderIsGone_IsAbandonedNotPromoted()
    {
        await using var stack = await FlywheelStack.StartAsync();
        await stack.SendAsync(6);
        using var interrupt = new CancellationTokenSource();
        var running = stack.Service.RunNowAsync(FlywheelStack.Group, interrupt.Token);
        var deadline = DateTime.UtcNow.AddSeconds(180);
        while (stack.Runner.Progress is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.NotNull(stack.Runner.Progress);

        interrupt.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        Directory.Delete(Path.Combine(stack.Folder, "work", "rounds"), recursive: true);

        await stack.RestartFlywheelAsync();
        var finished = new List<RoundRecord>();
        stack.Service.RoundFinished += r => { lock (finished) { finished.Add(r); } };
        await stack.Flywheel.StartAsync();
        var round = await WaitForRoundAsync(finished, 1);
        Assert.Equal("abandoned", round.Status);
        Assert.Equal(FlywheelStack.BaseVersion, await stack.AliasTargetAsync());
        Assert.Equal("abandoned", (await stack.Rounds.RoundsAsync(FlywheelStack.Group, default)).Single().Status);
    }

    internal static async Task<RoundRecord> WaitForRoundAsync(List<RoundRecord> finished, int count)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (DateTime.UtcNow < deadline)
        {
            lock (finished)
            {
                if (finished.Count >= count)
                {
                    return finished[count - 1];
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"no round {count} finished within 3 minutes");
    }
}
