using System.Diagnostics;
using System.Text.Json;
using Tao.Storage;
using Tao.Trainer.Checkpoints;
using Tao.Trainer.Generation;
using Tao.Trainer.Lora;
using Tao.Trainer.Registry;
using Tao.Trainer.Scoring;
using Tao.Trainer.Tokenization;
using Tao.Trainer.Training;

namespace Tao.Flywheel;

/// <summary>
/// One flywheel round for a model group: fix the inputs (new ones since the watermark, a sample of older ones, a held-out
/// slice), tune the live version on them with a TAO round, register the result, evaluate it against the live version,
/// and promote it only when it wins by the margin on every task's evaluation; otherwise record why not.
/// </summary>
public sealed partial class RoundRunner(
    ClickHouseStore store, FlywheelStore flywheel, CaptureReader captures, ModelRegistry registry, Promoter promoter, FlywheelOptions options,
    ILogger<RoundRunner> logger, TimeProvider time)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    /// <summary>Progress of the round in flight (for status and the demo's display).</summary>
    public RoundProgress? Progress { get; private set; }

    public async Task<RoundRecord> RunAsync(string groupName, ModelGroupOptions group, string parentVersion, RoundPlan? resumed, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var plan = resumed ?? await PlanAsync(groupName, group, parentVersion, cancellationToken);
        var folder = Path.Combine(options.WorkPath, "rounds", plan.RoundId);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "plan.json"), JsonSerializer.Serialize(plan, s_json));
        var record = new RoundRecord
        {
            RoundId = plan.RoundId, Group = groupName, Tasks = group.Tasks.Keys.ToList(), Status = RoundStatus.Running, StartedAt = plan.StartedAt,
            WindowFrom = plan.WindowFrom, WindowTo = plan.WindowTo, Inputs = plan.Tuning.Count + plan.HeldOut.Count + plan.Older.Count,
            TuningInputs = plan.Tuning.Count + plan.Older.Count, HeldOutInputs = plan.HeldOut.Count, ParentVersion = plan.ParentVersion,
        };
        await flywheel.SaveAsync(record, cancellationToken);
        if (resumed is null)
        {
            await flywheel.SaveInputsAsync(plan.RoundId,
                plan.Tuning.Select(i => (i, "tune")).Concat(plan.HeldOut.Select(i => (i, "held_out"))).Concat(plan.Older.Select(i => (i, "older"))), cancellationToken);
        }

        LogStarted(logger, plan.RoundId, plan.ParentVersion, record.TuningInputs, record.HeldOutInputs);
        try
        {
            record = await TuneEvaluateAndDecideAsync(groupName, group, plan, folder, record, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            throw; // left "running": the next start resumes it
        }
        catch (Exception e)
        {
            record = record with { Status = RoundStatus.Failed, Decision = RoundStatus.Failed, Reason = e.Message };
            LogFailed(logger, plan.RoundId, e);
        }

        record = record with { DurationSeconds = clock.Elapsed.TotalSeconds };
        await flywheel.SaveAsync(record, CancellationToken.None);
        Progress = null;
        return record;
    }

    private async Task<RoundPlan> PlanAsync(string groupName, ModelGroupOptions group, string parentVersion, CancellationToken cancellationToken)
    {
        var tasks = group.Tasks.Keys.ToList();
        var watermark = await flywheel.WatermarkAsync(groupName, cancellationToken);
        var fresh = await captures.ReadAsync(tasks, watermark, newer: true, group.MaxInputs, cancellationToken);
        // The held-out slice is chosen by prompt hash: stable, and independent of arrival order — a prompt held out once is
        // held out in every round, so older inputs mixed in for memory are filtered by the same rule.
        bool HeldOut(CapturedInput input) => input.PromptHash % 1000 < (ulong)(group.HeldOutFraction * 1000);
        var older = group.OlderSampleFraction > 0
            ? (await captures.ReadAsync(tasks, watermark, newer: false, (int)(fresh.Count * group.OlderSampleFraction), cancellationToken)).Where(i => !HeldOut(i)).ToList()
            : [];
        var heldOut = fresh.Where(HeldOut).ToList();
        var tuning = fresh.Except(heldOut).ToList();
        var now = time.GetUtcNow().UtcDateTime;
        var roundId = $"{groupName}-{now:yyyyMMdd-HHmmss}";
        return new RoundPlan(roundId, groupName, parentVersion, watermark, fresh.Count > 0 ? fresh.Max(i => i.StartedAt) : watermark,
            tuning, heldOut, older, now);
    }

    private async Task<RoundRecord> TuneEvaluateAndDecideAsync(string groupName, ModelGroupOptions group, RoundPlan plan, string folder, RoundRecord record,
        CancellationToken cancellationToken)
    {
        var scorers = group.Tasks.ToDictionary(t => t.Key, t => CreateScorer(t.Value), StringComparer.Ordinal);
        var parentFolder = registry.Folder(plan.ParentVersion);
        registry.Verify(plan.ParentVersion);
        var tokenizer = TextTokenizer.Load(parentFolder);
        using var current = ModelCheckpoint.Load(parentFolder);
        using var policy = ModelCheckpoint.Load(parentFolder);
        var settings = group.Round;
        var roundOptions = settings.ToRoundOptions(settings.Seed ?? (ulong)(plan.StartedAt.Ticks % 1_000_003));
        var prompts = plan.Tuning.Concat(plan.Older).Select(i => Prompt(i, group)).ToList();
        ICandidateSource? source = settings.CandidateUrl is { Length: > 0 } url && roundOptions.Objective is TaoObjective.BestOfN or TaoObjective.Dpo
            ? new OpenAiCandidateSource(new Uri(url), settings.CandidateModel ?? plan.ParentVersion, settings.CandidateApiKey ?? "none")
            : null;
        // The round's own guard (reward rising while its label-free dev score falls, entropy collapse) runs on a dev
        // slice of these inputs; the held-out inputs below are never seen by the round.
        // What users said: demonstrations and answers rated up become targets, answers rated down never score.
        var tuningInputs = plan.Tuning.Concat(plan.Older).ToList();
        var labelled = new Dictionary<string, string>(StringComparer.Ordinal);
        var rejected = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        var ratings = new Dictionary<string, List<FeedbackRewardModel.Rating>>(StringComparer.Ordinal);
        foreach (var byTask in tuningInputs.GroupBy(i => i.Task))
        {
            var taskOptions = group.Tasks[byTask.Key];
            var feedback = await captures.FeedbackAsync(byTask.Select(i => i.PromptHash).ToHashSet(), byTask.Key, taskOptions.FeedbackMetric,
                taskOptions.UseDemonstrations, cancellationToken);
            foreach (var input in byTask)
            {
                if (!feedback.TryGetValue(input.PromptHash, out var said))
                {
                    continue;
                }

                var id = input.RequestId.ToString();
                if ((said.Demonstration ?? said.RatedUp.FirstOrDefault()) is { } target)
                {
                    labelled[id] = target;
                }

                if (said.RatedDown.Count > 0)
                {
                    rejected[id] = said.RatedDown.ToHashSet(StringComparer.Ordinal);
                }

                var text = Prompt(input, group).Text;
                ratings.TryAdd(byTask.Key, []);
                ratings[byTask.Key].AddRange(said.Rated.Select(r => new FeedbackRewardModel.Rating(text, r.Answer, r.Value)));
            }
        }

        // Ratings also train a reward model per task, a part of the training score only (the gate's evaluation below keeps the configured scorers).
        var rewardModels = new List<IDisposable>();
        var rewardNumbers = new Dictionary<string, double>(StringComparer.Ordinal);
        var trainingScorers = new Dictionary<string, IScorer>(scorers, StringComparer.Ordinal);
        foreach (var (task, taskOptions) in group.Tasks.Where(t => t.Value.RewardModelWeight > 0))
        {
            if (taskOptions.RewardModelWeight >= 1 || taskOptions.FeedbackMetric is not { Length: > 0 })
            {
                throw new InvalidOperationException($"task '{task}': RewardModelWeight must be below 1 and needs a FeedbackMetric to train on");
            }

            Progress = new RoundProgress("reward model", 0, settings.Iterations, 0, 1);
            var trained = FeedbackRewardModel.Train(current, tokenizer, ratings.GetValueOrDefault(task) ?? [], taskOptions.RewardModelMinPairs, (int)roundOptions.Seed);
            rewardNumbers[$"reward_model.{task}.pairs"] = trained?.TrainPairs ?? 0;
            rewardNumbers[$"reward_model.{task}.used"] = 0;
            if (trained is null)
            {
                continue;
            }

            rewardModels.Add(trained);
            rewardNumbers[$"reward_model.{task}.held_pairs"] = trained.HeldPairs;
            if (trained.HeldPairs > 0)
            {
                rewardNumbers[$"reward_model.{task}.held_accuracy"] = trained.HeldAccuracy;
                rewardNumbers[$"reward_model.{task}.held_low"] = trained.HeldLowerBound;
            }

            trained.Save(Path.Combine(folder, "reward-model", task), parentFolder);
            if (trained.BeatsChance) // better than chance on pairs it never saw, beyond their noise (never when too few prompts to hold any aside)
            {
                rewardNumbers[$"reward_model.{task}.used"] = 1;
                trainingScorers[task] = trained.Blend(scorers[task], taskOptions.RewardModelWeight);
            }
        }

        var round = new TaoRound(policy, tokenizer, new TaskRoutedScorer(trainingScorers), roundOptions, source, folder: Path.Combine(folder, "tao"),
            progress: p => Progress = p)
        {
            Labelled = labelled,
            Rejected = rejected,
        };
        TaoRoundResult? result = null;
        IReadOnlyDictionary<string, LoraLinear>? adapters;
        Dictionary<string, double> external = [];
        Trainer.Model.LlamaForCausalLM? received = null;
        if (settings.ExternalCommand is { Length: > 0 } command)
        {
            (received, adapters, external) = await ExternalTrainer.RunAsync(command, settings.ExternalTimeoutMinutes, round, policy, prompts, labelled,
                plan.RoundId, Path.GetFullPath(parentFolder), Path.Combine(folder, "external"), cancellationToken);
        }
        else
        {
            result = await round.RunAsync(prompts, heldOut: null, cancellationToken);
            adapters = round.Adapters;
            var rewards = result.Metrics.Where(m => m.Event == "iteration" && m.RewardMean is not null).Select(m => m.RewardMean!.Value).ToList();
            record = record with { RewardFirst = rewards.FirstOrDefault(), RewardLast = rewards.LastOrDefault() };
        }

        using var receivedModel = received;
        var tuned = received ?? policy;
        Progress = new RoundProgress("evaluate", settings.Iterations, settings.Iterations, 0, group.Tasks.Count);
        var signals = await EvaluateAsync(groupName, group, plan, scorers, current, tuned, tokenizer, cancellationToken);
        var decision = plan.Tuning.Count + plan.Older.Count == 0
            ? new PromotionDecision(false, "no inputs to tune on", [])
            : new PromotionPolicy(group.Margin).Decide(signals);
        var evaluation = decision.Numbers();
        evaluation["round.seed"] = roundOptions.Seed; // Round:Seed reruns the round's draws
        evaluation["round.labelled_targets"] = labelled.Count; // targets from users' demonstrations and ratings: the round's only labels
        evaluation["round.rejected_answers"] = rejected.Values.Sum(r => r.Count);
        foreach (var (key, value) in rewardNumbers)
        {
            evaluation[key] = value;
        }

        rewardModels.ForEach(m => m.Dispose());
        foreach (var (key, value) in external)
        {
            evaluation[key] = value;
        }

        if (result is not null)
        {
            evaluation["round.best_iteration"] = result.BestIteration;
            evaluation["round.iterations"] = result.Metrics.Count(m => m.Event == "iteration");
            evaluation["round.stopped_by_guard"] = result.StoppedByGuard ? 1 : 0;
            evaluation["round.polish_epoch"] = result.PolishEpoch;
            evaluation["round.polish_pass"] = result.PolishPass;
            evaluation["round.polish_rate"] = result.PolishRate;
            foreach (var (key, score) in result.PolishDevScores ?? new Dictionary<int, double>())
            {
                evaluation[$"round.dev.{KeptWeights.Name(key + KeptWeights.PolishBase)}"] = score;
            }

            foreach (var (iteration, score) in result.DevScores ?? new Dictionary<int, double>())
            {
                evaluation[$"round.dev.{iteration}"] = score;
            }
        }

        var version = RegisterCandidate(groupName, group, plan, tuned, adapters, parentFolder, evaluation, string.Join(" | ", scorers.Select(s => $"{s.Key}: {s.Value.Name}")));
        var (status, reason) = decision.Promote ? (VersionStatus.Promoted, decision.Reason) : (VersionStatus.Rejected, decision.Reason);
        if (result is { StoppedByGuard: true })
        {
            reason += $" (round: {result.StopReason})";
        }

        if (decision.Promote)
        {
            Progress = new RoundProgress("promote", settings.Iterations, settings.Iterations, 0, 1);
            var outcome = await promoter.PromoteAsync(group, version.Id, cancellationToken);
            foreach (var signal in new[] { outcome.Canary, outcome.Feedback }.OfType<PromotionSignal>())
            {
                foreach (var (key, value) in new PromotionDecision(false, "", [new PromotionDecision.Verdict(signal, "")]).Numbers())
                {
                    evaluation[key] = value;
                }
            }

            if (!outcome.Live)
            {
                (status, reason) = (VersionStatus.RolledBack, outcome.Reason ?? "canary rolled back");
            }
        }

        version = registry.Update(version.Id, v => v with { Status = status, Decision = reason, Evaluation = evaluation });
        await flywheel.SaveVersionAsync(groupName, version, cancellationToken);
        LogDecided(logger, plan.RoundId, version.Id, status, reason);
        return record with { Status = status, CandidateVersion = version.Id, Evaluation = evaluation, Decision = status, Reason = reason };
    }

    /// <summary>
    /// The evidence for the promotion rule, per task: the verifier pass rate of live and candidate on the held-out
    /// captured inputs (label-free, no agreement pool), and accuracy on this round's slice of the labelled canary set.
    /// </summary>
    private async Task<List<PromotionSignal>> EvaluateAsync(string groupName, ModelGroupOptions group, RoundPlan plan, Dictionary<string, IScorer> scorers,
        Trainer.Model.LlamaForCausalLM current, Trainer.Model.LlamaForCausalLM candidate, TextTokenizer tokenizer, CancellationToken cancellationToken)
    {
        var evaluator = new VersionEvaluator(store);
        var signals = new List<PromotionSignal>();
        var roundNumber = (await flywheel.RoundsAsync(groupName, cancellationToken, 10_000)).Count(r => r.RoundId != plan.RoundId);
        foreach (var (task, taskOptions) in group.Tasks)
        {
            var heldOut = plan.HeldOut.Where(i => i.Task == task).Select(i => Prompt(i, group)).ToList();
            if (await evaluator.VerifiedAsync(current, candidate, tokenizer, heldOut, scorers[task], group.Round.MaxTokens, cancellationToken) is { Count: > 0 } verified)
            {
                signals.Add(new PromotionSignal(task, SignalKind.Verified, Paired(verified)));
            }

            if (taskOptions.LabelledEval is { } path && File.Exists(path))
            {
                var examples = LabelledSlice(LabelledSet.Read(path), roundNumber, taskOptions.LabelledPerRound);
                var labelled = await evaluator.LabelledAsync(current, candidate, tokenizer, examples, group.Round.MaxTokens, cancellationToken);
                signals.Add(new PromotionSignal(task, SignalKind.Labelled, Paired(labelled)));
            }
        }

        return signals;
    }

    private static Trainer.Evaluation.PairedComparison Paired(IReadOnlyList<(bool Live, bool Candidate)> items) =>
        Trainer.Evaluation.PairedComparison.Compute(items.Select(i => (i.Live ? 1.0 : 0.0, i.Candidate ? 1.0 : 0.0, "all")).ToList());

    /// <summary>This round's slice of the labelled set: consecutive rounds take consecutive slices (wrapping), 0 = all of it.</summary>
    public static IReadOnlyList<LabelledEvalExample> LabelledSlice(IReadOnlyList<LabelledEvalExample> examples, int round, int perRound)
    {
        if (perRound <= 0 || examples.Count <= perRound)
        {
            return examples;
        }

        var slices = examples.Count / perRound;
        return examples.Skip(round % slices * perRound).Take(perRound).ToList();
    }

    private ModelVersion RegisterCandidate(string groupName, ModelGroupOptions group, RoundPlan plan, Trainer.Model.LlamaForCausalLM policy,
        IReadOnlyDictionary<string, LoraLinear>? adapters,
        string parentFolder, Dictionary<string, double> evaluation, string scorer)
    {
        var staging = Path.Combine(options.WorkPath, "rounds", plan.RoundId, "candidate");
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        Directory.CreateDirectory(staging);
        if (adapters is not null && group.Target.Kind.Equals("vllm", StringComparison.OrdinalIgnoreCase))
        {
            LoraAdapters.ExportPeft(adapters, new LoraOptions { Rank = group.Round.LoraRank, Alpha = 2 * group.Round.LoraRank }, staging, plan.ParentVersion);
        }
        else
        {
            if (adapters is not null)
            {
                LoraAdapters.Merge(policy); // served locally at base cost
            }

            ModelCheckpoint.Save(policy, staging);
        }

        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json", "tokenizer.model" }.Where(f => File.Exists(Path.Combine(parentFolder, f))))
        {
            File.Copy(Path.Combine(parentFolder, file), Path.Combine(staging, file), overwrite: true);
        }

        var number = registry.Lineage(plan.ParentVersion).Count;
        var id = $"{groupName}-r{number}-{plan.StartedAt:HHmmss}";
        var version = registry.Register(staging, new ModelVersion
        {
            Id = id,
            Parent = plan.ParentVersion,
            CreatedAt = time.GetUtcNow(),
            Tasks = group.Tasks.Keys.ToList(),
            Data = new DataWindow(plan.WindowFrom, plan.WindowTo, plan.Tuning.Count + plan.HeldOut.Count + plan.Older.Count),
            Scorer = scorer,
            RoundId = plan.RoundId,
            Evaluation = evaluation,
            Status = VersionStatus.Candidate,
        });
        return version;
    }

    private static TaskPrompt Prompt(CapturedInput input, ModelGroupOptions group)
    {
        var context = new Dictionary<string, string>(group.Tasks.TryGetValue(input.Task, out var task) ? task.Context : [], StringComparer.Ordinal)
        {
            [TaskRoutedScorer.TaskKey] = input.Task,
        };
        return new TaskPrompt(input.RequestId.ToString(), input.Messages, context);
    }

    private IScorer CreateScorer(TaskOptions task)
    {
        var text = task.Scorer.TrimStart();
        var services = new ScorerFactory.Services(store);
        return text.StartsWith('{') || text.StartsWith('[') ? ScorerFactory.FromJson(text, services) : ScorerFactory.FromFile(task.Scorer, services);
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Round {RoundId} started from {Parent}: {Tuning} inputs to tune on, {HeldOut} held out")]
    private static partial void LogStarted(ILogger logger, string roundId, string parent, int tuning, int heldOut);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Round {RoundId}: {Version} {Decision} ({Reason})")]
    private static partial void LogDecided(ILogger logger, string roundId, string version, string decision, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "Round {RoundId} failed")]
    private static partial void LogFailed(ILogger logger, string roundId, Exception exception);
}
