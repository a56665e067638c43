using System.Globalization;
using Tao.Capture.Export;
using Tao.Gateway.OpenAi;
using Tao.Storage;

namespace Tao.Gateway.Admin;

/// <summary>
/// GET /admin/export: the dataset tao export writes, streamed (admin key). GET /admin/export/manifest: the manifest
/// of the same export (counts and SHA-256), computed by running it without keeping the bytes.
/// </summary>
internal static class ExportEndpoints
{
    private static readonly HashSet<string> s_parameters =
        new(["format", "from", "to", "task", "model", "version", "key", "metric", "min", "include_held_out", "demonstrations", "limit"], StringComparer.Ordinal);

    public static void MapExport(this IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/export", async (HttpContext context, ClickHouseStore store) =>
        {
            if (Parse(context) is not { } request)
            {
                return context.Items["problem"] as IResult;
            }

            context.Response.ContentType = request.Format == ExportFormat.Parquet ? "application/vnd.apache.parquet" : "application/jsonl; charset=utf-8";
            context.Response.Headers.ContentDisposition = $"attachment; filename=\"tao-{DatasetExporter.Name(request.Format)}.{(request.Format == ExportFormat.Parquet ? "parquet" : "jsonl")}\"";
            await new DatasetExporter(store).WriteAsync(request, context.Response.Body, context.RequestAborted);
            return Results.Empty;
        });

        app.MapGet("/admin/export/manifest", async (HttpContext context, ClickHouseStore store) =>
        {
            if (Parse(context) is not { } request)
            {
                return context.Items["problem"] as IResult;
            }

            return OpenAiResults.Json(await new DatasetExporter(store).WriteAsync(request, Stream.Null, context.RequestAborted));
        });
    }

    private static ExportRequest? Parse(HttpContext context)
    {
        var query = context.Request.Query;
        IResult? Problem(string message, string param)
        {
            context.Items["problem"] = OpenAiResults.BadRequest(message, param);
            return null;
        }

        foreach (var key in query.Keys)
        {
            if (!s_parameters.Contains(key))
            {
                Problem($"Unknown parameter '{key}'. This endpoint takes: {string.Join(", ", s_parameters.Order(StringComparer.Ordinal))}.", key);
                return null;
            }
        }

        var format = DatasetExporter.Parse(query["format"].FirstOrDefault() ?? "openai-chat");
        if (format is null)
        {
            Problem("format is openai-chat, hf-chat, preferences or parquet.", "format");
            return null;
        }

        DateTimeOffset? Time(string name)
        {
            var text = query[name].FirstOrDefault();
            return text is null ? null
                : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed) ? parsed
                : throw new FormatException(name);
        }

        try
        {
            double? min = query["min"].FirstOrDefault() is { } m ? double.Parse(m, CultureInfo.InvariantCulture) : null;
            int? limit = query["limit"].FirstOrDefault() is { } l ? int.Parse(l, CultureInfo.InvariantCulture) : null;
            if (limit is <= 0 || (min is not null && query["metric"].Count == 0))
            {
                Problem("limit is a positive whole number, and min needs metric.", limit is <= 0 ? "limit" : "min");
                return null;
            }

            return new ExportRequest
            {
                Format = format.Value, From = Time("from"), To = Time("to"), Task = query["task"].FirstOrDefault(), Model = query["model"].FirstOrDefault(),
                Version = query["version"].FirstOrDefault(), Key = query["key"].FirstOrDefault(), Metric = query["metric"].FirstOrDefault(), MinValue = min,
                IncludeHeldOut = query["include_held_out"].FirstOrDefault() is "true" or "1",
                PreferDemonstrations = query["demonstrations"].FirstOrDefault() is not ("false" or "0"), Limit = limit,
            };
        }
        catch (FormatException e)
        {
            Problem($"A parameter could not be read ({e.Message}): times are ISO 8601, min a number, limit a whole number.", "from");
            return null;
        }
    }
}
