using Tao.Capture.Sinks;
using Tao.Capture.Spool;
using Tao.Gateway.Auth;
using Tao.Gateway.OpenAi;
using Tao.Gateway.Routing;
using Tao.Gateway.Settings;
using Tao.Gateway.State;

namespace Tao.Gateway.Admin;

/// <summary>
/// The admin API (admin key required): models, aliases (the flywheel's hot-swap), runtime clusters, API keys,
/// and the capture pipeline's state. Every change is persisted before it takes effect.
/// </summary>
internal static class AdminEndpoints
{
    public static void MapAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin");

        admin.MapGet("/routing", (ModelCatalog catalog) => OpenAiResults.Json(Describe(catalog.Current)));

        admin.MapPut("/aliases/{alias}", (string alias, AliasEntry entry, ModelCatalog catalog) =>
        {
            if (!Tao.Storage.Identifier.IsValid(alias.Replace('-', '_').Replace('.', '_')))
            {
                return OpenAiResults.BadRequest("An alias is letters, digits, '_', '-' or '.', starting with a letter.", "alias");
            }

            return catalog.SetAlias(alias, entry) is { } error
                ? OpenAiResults.BadRequest(error, "target")
                : OpenAiResults.Json(Describe(catalog.Current));
        });

        admin.MapDelete("/aliases/{alias}", (string alias, ModelCatalog catalog) =>
            catalog.RemoveAlias(alias)
                ? OpenAiResults.Json(Describe(catalog.Current))
                : catalog.IsConfiguredAlias(alias)
                    ? OpenAiResults.Conflict($"Alias '{alias}' is defined in configuration; change it there or override it with PUT.")
                    : OpenAiResults.NotFound($"No runtime alias '{alias}'."));

        admin.MapPut("/models/{**name}", (string name, ModelEntry entry, ModelCatalog catalog, Yarp.ReverseProxy.IProxyStateLookup proxy,
            Microsoft.Extensions.Options.IOptionsMonitor<GatewayOptions> gateway) =>
        {
            if (entry.RuntimeCredentialProblem(gateway.CurrentValue) is { } problem)
            {
                return OpenAiResults.BadRequest(problem, "api_key");
            }

            if (entry.ApiProblem() is { } apiProblem)
            {
                return OpenAiResults.BadRequest(apiProblem, "api");
            }

            if (string.IsNullOrWhiteSpace(entry.Cluster) || !proxy.TryGetCluster(entry.Cluster, out _))
            {
                return OpenAiResults.BadRequest($"Cluster '{entry.Cluster}' does not exist; add it under /admin/clusters first.", "cluster");
            }

            catalog.UpsertModel(name, entry);
            return OpenAiResults.Json(Describe(catalog.Current));
        });

        admin.MapDelete("/models/{**name}", (string name, ModelCatalog catalog) =>
        {
            if (catalog.RemoveModel(name, out var removed) is { } error)
            {
                return OpenAiResults.Conflict(error);
            }

            return removed ? OpenAiResults.Json(Describe(catalog.Current))
                : catalog.IsConfiguredModel(name) ? OpenAiResults.Conflict($"Model '{name}' is defined in configuration.")
                : OpenAiResults.NotFound($"No runtime model '{name}'.");
        });

        admin.MapGet("/clusters", (RuntimeClusters clusters) => OpenAiResults.Json(clusters.All));

        admin.MapPut("/clusters/{id}", (string id, ClusterEntry entry, RuntimeClusters clusters) =>
        {
            if (!Tao.Storage.Identifier.IsValid(id.Replace('-', '_')))
            {
                return OpenAiResults.BadRequest("A cluster id is letters, digits, '_' or '-', starting with a letter.", "id");
            }

            if (clusters.IsConfigured(id))
            {
                return OpenAiResults.Conflict($"Cluster '{id}' is defined in the ReverseProxy configuration.");
            }

            if (entry.Destinations.Count == 0 || entry.Destinations.Values.Any(a => !Uri.TryCreate(a, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
            {
                return OpenAiResults.BadRequest("A cluster needs at least one destination with an absolute http(s) address.", "destinations");
            }

            clusters.Upsert(id, entry);
            return OpenAiResults.Json(clusters.All);
        });

        admin.MapDelete("/clusters/{id}", (string id, RuntimeClusters clusters, ModelCatalog catalog) =>
        {
            var users = catalog.Current.Models.Where(m => m.Value.Cluster == id).Select(m => m.Key).ToList();
            if (users.Count > 0)
            {
                return OpenAiResults.Conflict($"Models still route to cluster '{id}': {string.Join(", ", users)}");
            }

            return clusters.Remove(id) ? OpenAiResults.Json(clusters.All) : OpenAiResults.NotFound($"No runtime cluster '{id}'.");
        });

        admin.MapGet("/keys", (ApiKeyStore keys) =>
            OpenAiResults.Json(keys.All.Select(Describe).OrderBy(k => k.Id, StringComparer.Ordinal).ToList()));

        admin.MapPost("/keys", (NewKey request, ApiKeyStore keys) =>
        {
            if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 128)
            {
                return OpenAiResults.BadRequest("A key needs a name of at most 128 characters.", "name");
            }

            if (request.Problem() is { } problem)
            {
                return OpenAiResults.BadRequest(problem.Message, problem.Param);
            }

            var (key, secret) = keys.Create(request.Name, string.IsNullOrWhiteSpace(request.Task) ? null : request.Task, request.Apply);
            return OpenAiResults.Json(new CreatedKey(key.Id, key.Name, key.Task, key.Tasks, key.Models, key.CaptureControl, key.Redact, key.Limits, secret), statusCode: 201);
        });

        admin.MapPut("/keys/{id}", (string id, NewKey request, ApiKeyStore keys) =>
        {
            if (request.Problem() is { } problem)
            {
                return OpenAiResults.BadRequest(problem.Message, problem.Param);
            }

            return keys.Change(id, k => request.Apply(k with
            {
                Name = string.IsNullOrWhiteSpace(request.Name) ? k.Name : request.Name,
                Task = string.IsNullOrWhiteSpace(request.Task) ? null : request.Task,
            })) is { } changed
                ? OpenAiResults.Json(Describe(changed))
                : OpenAiResults.NotFound($"No runtime key '{id}' (keys from configuration change there).");
        });

        admin.MapGet("/keys/{id}/usage", (string id, ApiKeyStore keys, Limits.KeyLimiter limiter) =>
            keys.All.FirstOrDefault(k => k.Id == id) is { } key
                ? OpenAiResults.Json(new KeyUsage(limiter.UsageOf(id), limiter.LimitsOf(key)))
                : OpenAiResults.NotFound($"No key '{id}'."));

        admin.MapDelete("/keys/{id}", (string id, ApiKeyStore keys) =>
            keys.Revoke(id) ? Results.NoContent() : OpenAiResults.NotFound($"No runtime key '{id}'."));

        admin.MapGet("/capture", (CaptureSpool spool, IReadOnlyList<SinkShipper> shippers) => OpenAiResults.Json(new CaptureView(
            new SpoolView(spool.Start, spool.End, spool.BytesOnDisk, spool.Dropped, spool.DroppedTooLarge, spool.IsFull, spool.CorruptBytesSkipped),
            [.. shippers.Select(s => new SinkView(s.Sink.Name, s.Status.Healthy, s.Status.CommittedPosition, s.Lag, s.Status.Delivered,
                s.Status.FailedAttempts, s.Status.DeadLettered, s.Status.LastError, s.Status.LastSuccessAt))])));
    }

    private static RoutingView Describe(RoutingSnapshot snapshot) =>
        new(snapshot.Version, snapshot.UpdatedAt, snapshot.Models.ToDictionary(m => m.Key, m => m.Value.Redacted()), snapshot.Aliases);

    private static KeyView Describe(ApiKey k) => new(k.Id, k.Name, k.Task, k.Tasks, k.Models, k.CaptureControl, k.Redact, k.Limits, k.CreatedAt);

    // What the admin API answers, named so the gateway's JSON is generated at build time (GatewayJson).
    internal sealed record RoutingView(long Version, DateTimeOffset UpdatedAt, Dictionary<string, ModelEntry> Models, IReadOnlyDictionary<string, AliasEntry> Aliases);

    internal sealed record CreatedKey(string Id, string Name, string? Task, IReadOnlyList<string> Tasks, IReadOnlyList<string> Models, bool CaptureControl,
        bool? Redact, KeyLimits Limits, string Key);

    internal sealed record KeyUsage(Limits.KeyUsageView Usage, KeyLimits Limits);

    internal sealed record CaptureView(SpoolView Spool, List<SinkView> Sinks);

    internal sealed record SpoolView(long Start, long End, long BytesOnDisk, long Dropped, long DroppedTooLarge, bool IsFull, long CorruptBytesSkipped);

    internal sealed record SinkView(string Name, bool Healthy, long CommittedPosition, long LagBytes, long Delivered, long FailedAttempts, long DeadLettered,
        string? LastError, DateTimeOffset? LastSuccessAt);

    internal sealed record KeyView(string Id, string Name, string? Task, IReadOnlyList<string> Tasks, IReadOnlyList<string> Models, bool CaptureControl,
        bool? Redact, KeyLimits Limits, DateTimeOffset CreatedAt);

    /// <summary>A key to create, or what to change on one: its task (the default) and other allowed tasks, models, capture control and limits.</summary>
    internal sealed record NewKey(string Name, string? Task, List<string>? Tasks = null, List<string>? Models = null, bool CaptureControl = false,
        bool? Redact = null, KeyLimits? Limits = null)
    {
        public (string Message, string Param)? Problem()
        {
            foreach (var task in (Tasks ?? []).Append(Task ?? "x"))
            {
                if (!System.Text.RegularExpressions.Regex.IsMatch(task, @"\A[A-Za-z0-9._\-]{1,64}\z"))
                {
                    return ("A task tag is 1-64 characters of letters, digits, '.', '_' or '-'.", "tasks");
                }
            }

            if (Limits is { } l && (l.RequestsPerMinute < 0 || l.TokensPerMinute < 0 || l.ConcurrentStreams < 0 || l.DailyBudgetUsd < 0
                || l.MonthlyBudgetUsd < 0 || l.MaxRequestBodyBytes < 0))
            {
                return ("Limits are zero (none) or positive.", "limits");
            }

            return null;
        }

        public ApiKey Apply(ApiKey key) => key with
        {
            Tasks = Tasks ?? [], Models = Models ?? [], CaptureControl = CaptureControl, Redact = Redact, Limits = Limits ?? new KeyLimits(),
        };
    }
}
