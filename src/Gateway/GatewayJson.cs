using System.Text.Json;
using System.Text.Json.Serialization;
using Tao.Capture.Export;
using Tao.Gateway.Admin;
using Tao.Gateway.Analytics;
using Tao.Gateway.Feedback;
using Tao.Gateway.Health;
using Tao.Gateway.Routing;
using Tao.Gateway.State;

namespace Tao.Gateway;

/// <summary>
/// The gateway's HTTP JSON: every body the admin, analytics, feedback, health and models endpoints read or answer
/// (OpenAiResults.Json), in snake_case, with its (de)serialisation generated at build time
/// (<see cref="GatewayHttpJsonContext"/>). The host's options get the generated context alone, no reflection fallback,
/// so the same code runs under the JIT and as a Native AOT executable (src/GatewayServer), and a type missing from the
/// context fails every test that reaches it, in either build, rather than only in the native one.
/// </summary>
internal static class GatewayJson
{
    public static void Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.TypeInfoResolverChain.Clear();
        options.TypeInfoResolverChain.Add(GatewayHttpJsonContext.Default);
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
// Request bodies.
[JsonSerializable(typeof(AliasEntry))]
[JsonSerializable(typeof(ModelEntry))]
[JsonSerializable(typeof(ClusterEntry))]
[JsonSerializable(typeof(AdminEndpoints.NewKey))]
// Answers.
[JsonSerializable(typeof(AdminEndpoints.RoutingView))]
[JsonSerializable(typeof(AdminEndpoints.CreatedKey))]
[JsonSerializable(typeof(AdminEndpoints.KeyUsage))]
[JsonSerializable(typeof(AdminEndpoints.CaptureView))]
[JsonSerializable(typeof(List<AdminEndpoints.KeyView>))]
[JsonSerializable(typeof(AdminEndpoints.KeyView))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, ClusterEntry>))]
[JsonSerializable(typeof(ReadinessReport))]
[JsonSerializable(typeof(HealthEndpoints.HealthStatus))]
[JsonSerializable(typeof(FeedbackEndpoints.Accepted))]
[JsonSerializable(typeof(ModelsEndpoints.ModelList))]
[JsonSerializable(typeof(ModelsEndpoints.ModelInfo))]
[JsonSerializable(typeof(ExportManifest))]
[JsonSerializable(typeof(AnalyticsEndpoints.TrafficAnswer))]
[JsonSerializable(typeof(AnalyticsEndpoints.FeedbackAnswer))]
[JsonSerializable(typeof(AnalyticsEndpoints.WindowAnswer))]
[JsonSerializable(typeof(AnalyticsEndpoints.RoundInputs))]
[JsonSerializable(typeof(AnalyticsEndpoints.RowList<AnalyticsRow>))]
[JsonSerializable(typeof(AnalyticsEndpoints.RowList<AnalyticsEndpoints.MetricView>))]
[JsonSerializable(typeof(AnalyticsRow))]
// What an analytics row's values can be: the store's column types as the ClickHouse client reads them, after
// AnalyticsService's normalisation (times and ids become strings, non-finite floats null).
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(byte))]
[JsonSerializable(typeof(sbyte))]
[JsonSerializable(typeof(short))]
[JsonSerializable(typeof(ushort))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(uint))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(ulong))]
[JsonSerializable(typeof(Int128))]
[JsonSerializable(typeof(UInt128))]
[JsonSerializable(typeof(float))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(decimal))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(double[]))]
[JsonSerializable(typeof(float[]))]
[JsonSerializable(typeof(long[]))]
[JsonSerializable(typeof(ulong[]))]
[JsonSerializable(typeof(int[]))]
[JsonSerializable(typeof(uint[]))]
[JsonSerializable(typeof(object[]))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, object>))]
internal sealed partial class GatewayHttpJsonContext : JsonSerializerContext;
