using System.Text.Json;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;
using Microsoft.Extensions.Options;
using Tao.Capture;
using Tao.Gateway.Auth;
using Tao.Gateway.Capture;
using Tao.Gateway.Settings;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Gateway.Feedback;

/// <summary>Checks a feedback post against the declared metrics and the caller's own calls, and writes it to the spool.</summary>
internal sealed class FeedbackService(
    CaptureWriter writer, ClickHouseStore store, RecentCalls recent, Capture.Redactor redactor, IOptionsMonitor<FeedbackOptions> options,
    IOptions<GatewayOptions> gateway, TimeProvider time)
{
    public const string Comment = "comment";
    public const string Demonstration = "demonstration";

    public sealed record Problem(int Status, string Message, string Code, string? Param);

    public sealed record Outcome(FeedbackRecord? Record, bool DryRun, Problem? Error);

    public async Task<Outcome> PostAsync(JsonElement body, Caller caller, CancellationToken cancellationToken)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return Fail(400, "The body must be a JSON object.", "invalid_json", null);
        }

        var requestId = String(body, "request_id");
        var episodeId = String(body, "episode_id");
        if ((requestId is null) == (episodeId is null))
        {
            return Fail(400, "Give exactly one of 'request_id' and 'episode_id'.", "invalid_target", "request_id");
        }

        Guid request = default;
        if (requestId is not null && !Guid.TryParse(requestId, out request))
        {
            return Fail(400, $"'request_id' is the {Tao.Capture.TaoHeaders.RequestId} of a call (a UUID).", "invalid_request_id", "request_id");
        }

        if (String(body, "metric") is not { Length: > 0 and <= 128 } metric)
        {
            return Fail(400, "'metric' is required: a declared metric, or 'comment' or 'demonstration'.", "missing_metric", "metric");
        }

        var record = new FeedbackRecord
        {
            FeedbackId = Guid.CreateVersion7(),
            TargetId = requestId is not null ? request.ToString() : episodeId!,
            Level = requestId is not null ? "request" : "episode",
            Metric = metric,
            ApiKeyId = caller.Admin ? "admin" : caller.KeyId,
            CreatedAt = time.GetUtcNow().UtcDateTime,
            Gateway = gateway.Value.InstanceId,
        };

        if (metric is Comment or Demonstration)
        {
            var field = metric == Comment ? "comment" : "demonstration";
            var text = String(body, field) ?? (body.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null);
            if (string.IsNullOrWhiteSpace(text) || text.Length > 256 * 1024)
            {
                return Fail(400, $"A {metric} needs a non-empty string '{field}' of at most 256 KiB.", "invalid_value", field);
            }

            record.ValueKind = metric;
            record.Demonstration = metric == Demonstration ? text : string.Empty;
            record.Comment = metric == Comment ? text : String(body, "comment") ?? string.Empty;
        }
        else if (options.CurrentValue.Metrics.TryGetValue(metric, out var declared))
        {
            if ((declared.Level == FeedbackLevel.Request) != (requestId is not null))
            {
                return Fail(400, $"Metric '{metric}' rates {(declared.Level == FeedbackLevel.Request ? "a request: give 'request_id'" : "an episode: give 'episode_id'")}.",
                    "wrong_level", declared.Level == FeedbackLevel.Request ? "request_id" : "episode_id");
            }

            if (!body.TryGetProperty("value", out var value))
            {
                return Fail(400, $"Metric '{metric}' needs a 'value'.", "missing_value", "value");
            }

            switch (declared.Type)
            {
                case FeedbackMetricType.Boolean when value.ValueKind is JsonValueKind.True or JsonValueKind.False:
                    record.ValueKind = "boolean";
                    record.Value = value.GetBoolean() ? 1 : 0;
                    break;
                case FeedbackMetricType.Float when value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) && double.IsFinite(number):
                    record.ValueKind = "float";
                    record.Value = number;
                    break;
                default:
                    return Fail(400, $"Metric '{metric}' takes a {(declared.Type == FeedbackMetricType.Boolean ? "boolean" : "finite number")} 'value'.", "invalid_value", "value");
            }

            record.Comment = String(body, "comment") ?? string.Empty;
        }
        else
        {
            return Fail(404, $"No feedback metric '{metric}' is declared (Tao:Feedback:Metrics); 'comment' and 'demonstration' are always accepted.",
                "metric_not_found", "metric");
        }

        if (body.TryGetProperty("tags", out var tags) && tags.ValueKind != JsonValueKind.Null)
        {
            if (tags.ValueKind != JsonValueKind.Object || tags.EnumerateObject().Count() > 32
                || tags.EnumerateObject().Any(t => t.Value.ValueKind != JsonValueKind.String || t.Name.Length > 128 || t.Value.GetString()!.Length > 1024))
            {
                return Fail(400, "'tags' is an object of at most 32 string values.", "invalid_tags", "tags");
            }

            foreach (var tag in tags.EnumerateObject())
            {
                record.Tags[tag.Name] = tag.Value.GetString()!;
            }
        }

        var owned = requestId is not null
            ? await OwnsRequestAsync(request, caller, cancellationToken)
            : await OwnsEpisodeAsync(episodeId!, caller, cancellationToken);
        if (!owned)
        {
            // One answer for "no such call" and "not yours": a key learns nothing about other keys' traffic.
            return Fail(404, requestId is not null ? $"No call '{requestId}' made with this key." : $"No episode '{episodeId}' with calls made with this key.",
                "target_not_found", requestId is not null ? "request_id" : "episode_id");
        }

        // Users paste into comments and corrections what they paste into prompts: the same redaction applies.
        record.Comment = redactor.Apply(caller.Key?.Redact, record.Comment);
        record.Demonstration = redactor.Apply(caller.Key?.Redact, record.Demonstration);
        var dryRun = body.TryGetProperty("dry_run", out var dry) && dry.ValueKind == JsonValueKind.True;
        if (!dryRun && !writer.Write(record))
        {
            return Fail(503, "The gateway cannot record feedback right now (its capture spool is full).", "capture_unavailable", null);
        }

        return new Outcome(record, dryRun, null);
    }

    private async Task<bool> OwnsRequestAsync(Guid request, Caller caller, CancellationToken cancellationToken)
    {
        if (recent.KeyOf(request) is { } key)
        {
            return caller.Admin || key == caller.KeyId;
        }

        return await WaitForStoreAsync(
            $"SELECT count() FROM {store.Database}.{CapturesTable.Name} WHERE request_id = {{id:UUID}}{(caller.Admin ? string.Empty : " AND api_key_id = {key:String}")}",
            p =>
            {
                p.AddParameter("id", request);
                p.AddParameter("key", caller.KeyId);
            },
            cancellationToken);
    }

    private async Task<bool> OwnsEpisodeAsync(string episode, Caller caller, CancellationToken cancellationToken)
    {
        if (caller.Admin ? recent.HasEpisode(episode) : recent.HasEpisode(episode, caller.KeyId))
        {
            return true;
        }

        return await WaitForStoreAsync(
            $"SELECT count() FROM {store.Database}.{CapturesTable.Name} WHERE episode_id = {{episode:String}}{(caller.Admin ? string.Empty : " AND api_key_id = {key:String}")}",
            p =>
            {
                p.AddParameter("episode", episode);
                p.AddParameter("key", caller.KeyId);
            },
            cancellationToken);
    }

    /// <summary>A call answered by another replica reaches the store within its sink's linger; wait that long before saying "unknown".</summary>
    private async Task<bool> WaitForStoreAsync(string sql, Action<ClickHouseParameterCollection> bind, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(options.CurrentValue.LookupWaitSeconds);
        while (true)
        {
            var parameters = new ClickHouseParameterCollection();
            bind(parameters);
            if (Convert.ToInt64(await store.Client.ExecuteScalarAsync(sql, parameters, cancellationToken: cancellationToken)) > 0)
            {
                return true;
            }

            if (time.GetUtcNow() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
        }
    }

    private static Outcome Fail(int status, string message, string code, string? param) => new(null, false, new Problem(status, message, code, param));

    private static string? String(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
