using System.ClientModel;
using Anthropic;
using Anthropic.Core;
using OpenAI.Responses;
using Tao.Bench;

namespace Tao.Gateway.Tests;

/// <summary>
/// The gateway with an Anthropic upstream beside the OpenAI one: model "claude-model" (alias "claude-bot") speaks
/// Anthropic's Messages API with its own credential and anthropic-version.
/// </summary>
public class SurfacesFixture : GatewayFixture
{
    public const string AnthropicCredential = "sk-ant-upstream-secret";
    public const string AnthropicVersion = "2023-06-01";

    public SurfacesFixture()
    {
    }

    protected SurfacesFixture(Dictionary<string, string?> overrides) : base(overrides)
    {
    }

    public FakeAnthropicUpstream Anthropic { get; private set; } = null!;

    protected override async Task ConfigureAsync(Dictionary<string, string?> settings)
    {
        Anthropic = await FakeAnthropicUpstream.StartAsync(record: true);
        settings["ReverseProxy:Clusters:anthropic:Destinations:d1:Address"] = Anthropic.Address.ToString();
        settings["ReverseProxy:Clusters:anthropic:HttpRequest:ActivityTimeout"] = "00:00:05";
        settings["Tao:Models:claude-model:Cluster"] = "anthropic";
        settings["Tao:Models:claude-model:Api"] = "anthropic";
        settings["Tao:Models:claude-model:UpstreamModel"] = "claude-upstream";
        settings["Tao:Models:claude-model:ApiKey"] = AnthropicCredential;
        settings["Tao:Models:claude-model:AnthropicVersion"] = AnthropicVersion;
        settings["Tao:Models:claude-model:Version"] = "c1";
        settings["Tao:Aliases:claude-bot"] = "claude-model";
    }

#pragma warning disable OPENAI001 // the Responses API is marked experimental in the OpenAI .NET client
    /// <summary>The official OpenAI client's Responses API against the gateway.</summary>
    public ResponsesClient Responses(string key = ApiKey, Dictionary<string, string>? headers = null)
    {
        var options = new ResponsesClientOptions { Endpoint = new Uri(Address, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) };
        if (headers is not null)
        {
            options.AddPolicy(new HeaderPolicy(headers), System.ClientModel.Primitives.PipelinePosition.PerCall);
        }

        return new ResponsesClient(new ApiKeyCredential(key), options);
    }
#pragma warning restore OPENAI001

    /// <summary>The official Anthropic SDK against the gateway, with the key as x-api-key (or as a bearer token).</summary>
    public AnthropicClient Claude(string key = ApiKey, bool bearer = false, Dictionary<string, string>? headers = null) => new(new ClientOptions
    {
        BaseUrl = Address.ToString().TrimEnd('/'),
        ApiKey = bearer ? null : key,
        AuthToken = bearer ? key : null,
        MaxRetries = 0,
        Timeout = TimeSpan.FromSeconds(30),
        ExtraHeaders = headers ?? [],
    });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Anthropic.DisposeAsync();
    }
}
