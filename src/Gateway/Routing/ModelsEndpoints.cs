using Tao.Gateway.OpenAi;

namespace Tao.Gateway.Routing;

/// <summary>GET /v1/models and /v1/models/{id}: the model map's names and aliases, in OpenAI's list shape.</summary>
internal static class ModelsEndpoints
{
    public static void MapModels(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", (ModelCatalog catalog) =>
        {
            var snapshot = catalog.Current;
            var created = snapshot.UpdatedAt.ToUnixTimeSeconds();
            var data = snapshot.Models.Select(m => Describe(m.Key, m.Value.OwnedBy ?? "tao", created, null))
                .Concat(snapshot.Aliases.Select(a => Describe(a.Key, "tao", created, a.Value.Target)))
                .OrderBy(m => m.Id, StringComparer.Ordinal)
                .ToList();
            return OpenAiResults.Json(new ModelList("list", data));
        });

        app.MapGet("/v1/models/{**id}", (string id, ModelCatalog catalog) =>
        {
            var snapshot = catalog.Current;
            var created = snapshot.UpdatedAt.ToUnixTimeSeconds();
            if (snapshot.Models.TryGetValue(id, out var model))
            {
                return OpenAiResults.Json(Describe(id, model.OwnedBy ?? "tao", created, null));
            }

            if (snapshot.Aliases.TryGetValue(id, out var alias))
            {
                return OpenAiResults.Json(Describe(id, "tao", created, alias.Target));
            }

            return OpenAi.OpenAiResults.Error(404, $"The model '{id}' does not exist.", OpenAi.OpenAiError.InvalidRequest, "model_not_found", "model");
        });
    }

    private static ModelInfo Describe(string id, string owner, long created, string? aliasOf) => new(id, "model", created, owner, aliasOf);

    internal sealed record ModelInfo(string Id, string Object, long Created, string OwnedBy, string? AliasOf);

    internal sealed record ModelList(string Object, List<ModelInfo> Data);
}
