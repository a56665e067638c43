using System.Xml.Linq;
using Microsoft.Extensions.Configuration;
using Tao.Cli;
using Tao.Storage;
using Tao.Storage.Schema;
using Tao.Trainer.Scoring;
using YamlDotNet.RepresentationModel;

namespace Tao.Deploy.Tests;

/// <summary>
/// What can be validated of deploy/ without a container engine: every manifest parses, every Tao container runs a
/// real command with configuration the code accepts, every host it names exists in the same topology, and the
/// shipped cluster DDL is what the code generates.
/// </summary>
public sealed class DeployTests
{
    [Fact]
    public void EveryKubernetesDocument_HasApiVersionKindAndName_AndTheKustomizationListsThemAll()
    {
        var documents = Manifests.KubernetesDocuments().ToList();
        Assert.True(documents.Count >= 15, $"only {documents.Count} documents");
        foreach (var document in documents)
        {
            Assert.False(string.IsNullOrEmpty(document.Text("apiVersion")), document.ToString());
            Assert.False(string.IsNullOrEmpty(document.Text("kind")), document.ToString());
            Assert.False(string.IsNullOrEmpty(document.Text("metadata", "name")), document.ToString());
        }

        var kustomization = Manifests.Documents("kustomization.yaml").Single();
        Assert.Equal(Manifests.KubernetesFiles().Select(f => f.Replace('\\', '/')).Order(StringComparer.Ordinal),
            kustomization.Strings("resources").Order(StringComparer.Ordinal));
        Assert.All(Manifests.ConfigMapFiles().Values, file => Assert.True(File.Exists(file), file));
        Assert.Contains(documents, d => d.Text("kind") == "HorizontalPodAutoscaler");
        Assert.Contains(documents, d => d.Text("kind") == "KafkaTopic" && d.Text("metadata", "name") == "tao.captures");
    }

    [Fact]
    public void EveryConfigMapAndSecretAPodUses_IsGeneratedOrDocumented()
    {
        var generated = Manifests.ConfigMapFiles().Keys.Select(k => k.Item1).ToHashSet(StringComparer.Ordinal);
        var readme = File.ReadAllText(Path.Combine(Manifests.Deploy, "README.md"));
        foreach (var document in Manifests.KubernetesDocuments())
        {
            foreach (var node in Descendants(document))
            {
                if (node.Text("configMap", "name") is { } configMap)
                {
                    Assert.Contains(configMap, generated);
                }

                if (node.Text("secretKeyRef", "name") is { } secret)
                {
                    Assert.Contains($"create secret generic {secret}", readme);
                    Assert.Contains($"--from-literal={node.Text("secretKeyRef", "key")}=", readme);
                }
            }
        }
    }

    [Fact]
    public void EveryTaoContainer_RunsARealCommand_WithConfigurationTheCodeAccepts()
    {
        var containers = Manifests.ComposeTaoServices().Concat(Manifests.KubernetesTaoContainers()).ToList();
        var services = (YamlMappingNode)Manifests.Documents("compose.yaml").Single().At("services")!;
        var healthChecks = services.Children.Values.Select(s => s.Strings("healthcheck", "test").ToList()).Where(t => t is ["CMD", "/opt/tao/tao", ..]).ToList();
        Assert.NotEmpty(healthChecks);
        var dockerfile = File.ReadAllText(Path.Combine(Manifests.Deploy, "Dockerfile"));
        Assert.Contains("ENTRYPOINT [\"/opt/tao/tao\"]", dockerfile);
        // The gateway services run the native gateway, which the image publishes beside the CLI (COPY /app → /opt/tao).
        Assert.Contains("dotnet publish src/GatewayServer/Tao.GatewayServer.csproj -c Release -r linux-x64 -o /app ", dockerfile);
        Assert.All(healthChecks, check => Assert.Empty(TaoCli.Create().Parse(check.Skip(2).ToArray()).Errors));
        Assert.Contains(containers, c => c.Arguments[0] == "gateway");
        Assert.Contains(containers, c => c.Arguments is ["flywheel", "run", ..]);
        Assert.Contains(containers, c => c.Arguments is ["schema", "--apply", ..]);
        foreach (var container in containers)
        {
            var parse = TaoCli.Create().Parse(container.Arguments.ToArray());
            Assert.True(parse.Errors.Count == 0, $"{container.Name}: {string.Join("; ", parse.Errors.Select(e => e.Message))}");
            Assert.NotEmpty(container.ConfigFiles);

            var problems = ConfigurationChecker.Check(ConfigurationChecker.Load(container.ConfigFiles, container.Environment));
            Assert.True(problems.Count == 0, $"{container.Name}:\n{string.Join("\n", problems)}");
            Assert.All(container.Environment.Keys, key => Assert.Contains("__", key));
        }
    }

    [Fact]
    public void ConfigCheck_KnowsTheTelemetrySection_TheReadmeDocuments()
    {
        var problems = ConfigurationChecker.Check(ConfigurationChecker.Load([], new Dictionary<string, string> { ["Tao__Telemetry__OtlpEndpoint"] = "http://collector:4317" }));

        Assert.Empty(problems);
    }

    [Fact]
    public void EveryHostAServiceCalls_ExistsInTheSameTopology()
    {
        var composeServices = ((YamlMappingNode)Manifests.Documents("compose.yaml").Single().At("services")!).Children.Keys
            .Select(k => ((YamlScalarNode)k).Value!).ToHashSet(StringComparer.Ordinal);
        foreach (var container in Manifests.ComposeTaoServices())
        {
            Assert.All(Hosts(container), host => Assert.True(composeServices.Contains(host), $"{container.Name} calls {host}, not a compose service"));
        }

        var documents = Manifests.KubernetesDocuments().ToList();
        var kubernetesHosts = documents.Where(d => d.Text("kind") == "Service").Select(d => d.Text("metadata", "name")!)
            .Concat(documents.Where(d => d.Text("kind") == "ClickHouseInstallation").Select(d => "clickhouse-" + d.Text("metadata", "name")))
            .Concat(documents.Where(d => d.Text("kind") == "Kafka").Select(d => d.Text("metadata", "name") + "-kafka-bootstrap"))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var container in Manifests.KubernetesTaoContainers())
        {
            Assert.All(Hosts(container), host => Assert.True(kubernetesHosts.Contains(host), $"{container.Name} calls {host}, not a Service"));
        }

        var nginx = File.ReadAllText(Path.Combine(Manifests.Deploy, "nginx", "nginx.conf"));
        var upstreams = System.Text.RegularExpressions.Regex.Matches(nginx, @"server (\S+):8080").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(3, upstreams.Count);
        Assert.All(upstreams, host => Assert.Contains(host, composeServices));
    }

    [Fact]
    public void TheFlywheel_ElectsALeaderOverAKafkaTopicThatTheTopologyCreates_AndPromotesIntoVllmWithRuntimeLora()
    {
        var flywheel = ConfigurationChecker.Load([Path.Combine(Manifests.Deploy, "config", "flywheel.json")], []);
        Assert.Equal("Kafka", flywheel["Tao:Flywheel:Leader:Kind"]);
        var leaderTopic = flywheel["Tao:Flywheel:Leader:Topic"]!;
        var capturesTopic = flywheel["Tao:Flywheel:KafkaIngest:Topic"]!;

        var compose = Manifests.Documents("compose.yaml").Single();
        var init = string.Join("\n", compose.Strings("services", "kafka-init", "command"));
        Assert.Contains($"--topic {leaderTopic} --partitions 1", init);
        Assert.Contains($"--topic {capturesTopic} ", init);
        var topics = Manifests.KubernetesDocuments().Where(d => d.Text("kind") == "KafkaTopic").ToDictionary(d => d.Text("metadata", "name")!, d => d.Text("spec", "partitions"));
        Assert.Equal("1", topics[leaderTopic]);
        Assert.True(topics.ContainsKey(capturesTopic));

        Assert.Equal(2, Manifests.ComposeTaoServices().Count(s => s.Arguments is ["flywheel", "run", ..]));
        Assert.Equal("2", Manifests.KubernetesDocuments().Single(d => d.Text("metadata", "name") == "tao-flywheel" && d.Text("kind") == "Deployment").Text("spec", "replicas"));

        // vLLM: LoRA enabled, runtime updating allowed, the registry mounted where the flywheel writes it.
        var vllm = compose.At("services", "vllm")!;
        Assert.Contains("--enable-lora", vllm.Strings("command"));
        Assert.Equal("True", vllm.Text("environment", "VLLM_ALLOW_RUNTIME_LORA_UPDATING"));
        var registry = flywheel["Tao:Flywheel:RegistryPath"]!;
        Assert.Contains(vllm.Strings("volumes"), v => v.Split(':')[1] == registry);
        Assert.Equal("Vllm", flywheel["Tao:Flywheel:Groups:support:Target:Kind"]);
        Assert.Contains(Manifests.KubernetesDocuments().Single(d => d.Text("kind") == "Deployment" && d.Text("metadata", "name") == "vllm")
            .Items("spec", "template", "spec", "containers").Single().Items("volumeMounts"), m => m.Text("mountPath") == registry);

        // The gateway routes the version names the flywheel promotes to the cluster the flywheel registers them on.
        var gateway = ConfigurationChecker.Load([Path.Combine(Manifests.Deploy, "config", "gateway.json")], []);
        Assert.NotNull(gateway.GetSection($"ReverseProxy:Clusters:{flywheel["Tao:Flywheel:Groups:support:Target:Cluster"]}").GetChildren().FirstOrDefault());
        Assert.Equal(flywheel["Tao:Flywheel:Groups:support:BaseVersion"], gateway[$"Tao:Aliases:{flywheel["Tao:Flywheel:Groups:support:Alias"]}"]);
    }

    [Fact]
    public void TheShippedClusterDdl_IsWhatTheCodeGenerates_ForTheClusterTheServersDefine()
    {
        var gateway = ConfigurationChecker.Load([Path.Combine(Manifests.Deploy, "config", "gateway.json")], []);
        var options = gateway.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>()!;
        Assert.Equal(File.ReadAllText(Path.Combine(Manifests.Deploy, "clickhouse", "schema-cluster.sql")),
            SchemaScript.Render(new ClickHouseOptions { Database = options.Database, Cluster = options.Cluster, BodyRetentionDays = options.BodyRetentionDays }));

        var servers = XDocument.Load(Path.Combine(Manifests.Deploy, "clickhouse", "cluster.xml")).Root!.Element("remote_servers")!.Elements().Select(e => e.Name.LocalName);
        Assert.Equal([options.Cluster!], servers);
        var installation = Manifests.KubernetesDocuments().Single(d => d.Text("kind") == "ClickHouseInstallation");
        Assert.Contains(options.Cluster!, installation.Items("spec", "configuration", "clusters").Select(c => c.Text("name")));
        foreach (var file in new[] { "macros-ch1.xml", "macros-ch2.xml" })
        {
            Assert.Equal(options.Cluster, XDocument.Load(Path.Combine(Manifests.Deploy, "clickhouse", file)).Root!.Element("macros")!.Element("cluster")!.Value);
        }
    }

    [Fact]
    public void TheScorerConfiguration_Builds()
    {
        var file = Path.Combine(Manifests.Deploy, "config", "scorers", "support.json");
        var scorer = Assert.IsType<CompositeScorer>(ScorerFactory.FromFile(file, new ScorerFactory.Services()));
        Assert.Equal(["majority", "llm_judge"], scorer.Parts.Select(p => p.Scorer.Name));
    }

    [Fact]
    public void TheChecker_CatchesTyposWrongTypesAndMissingClusters()
    {
        var problems = ConfigurationChecker.Check(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tao:Gateway:Url"] = "http://0.0.0.0:8080", // Urls
            ["Tao:Capture:Spool:FlushPolicy"] = "Sometimes",
            ["Tao:Flywheel:Groups:g:Threshold"] = "many",
            ["Tao:Flywheel:Groups:g:Tasks:t:Scorer"] = "{}", // fine: dictionaries take any key
            ["Tao:Auth:Keys:first:Name"] = "x", // a list needs indexes
            ["Tao:Models:m:Cluster"] = "nowhere",
            ["ReverseProxy:Clusters:c:Destinations:d:Address"] = "http://x/",
            ["ReverseProxy:Clusters:c:HttpRequest:ActivityTimeout"] = "soon",
            ["Tao:Kafka:BootstrapServers"] = "k:9092", // Tao:Capture:Kafka
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build());

        Assert.Equal(7, problems.Count);
        Assert.Contains(problems, p => p.StartsWith("Tao:Gateway:Url:", StringComparison.Ordinal) && p.Contains("Urls", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Tao:Capture:Spool:FlushPolicy:", StringComparison.Ordinal) && p.Contains("one of", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Tao:Flywheel:Groups:g:Threshold:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Tao:Auth:Keys:first:Name:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Tao:Models:m:Cluster:", StringComparison.Ordinal) && p.Contains("nowhere", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("ReverseProxy:Clusters:c:HttpRequest:ActivityTimeout:", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Tao:Kafka:BootstrapServers:", StringComparison.Ordinal));

        var fromEnvironment = ConfigurationChecker.Load([], [new("Tao__Flywheel__Leader__Kindd", "Kafka"), new("PATH", "/usr/bin")]);
        Assert.Single(ConfigurationChecker.Check(fromEnvironment));
    }

    private static IEnumerable<string> Hosts(Manifests.TaoContainer container)
    {
        var configuration = ConfigurationChecker.Load(container.ConfigFiles, container.Environment);
        var urls = configuration.AsEnumerable()
            .Where(p => p.Value is not null && (p.Key.EndsWith(":Url", StringComparison.Ordinal) || p.Key.EndsWith("Url", StringComparison.Ordinal) || p.Key.EndsWith(":Address", StringComparison.Ordinal))
                        && p.Value.StartsWith("http", StringComparison.Ordinal))
            .Select(p => new Uri(p.Value!))
            .Where(u => u.Host is not ("0.0.0.0" or "localhost" or "127.0.0.1"))
            .Select(u => u.Host);
        var kafka = configuration.AsEnumerable().Where(p => p.Key.EndsWith(":BootstrapServers", StringComparison.Ordinal) && !string.IsNullOrEmpty(p.Value))
            .SelectMany(p => p.Value!.Split(',')).Select(s => s.Split(':')[0]);
        var scorers = configuration.AsEnumerable().Where(p => p.Key.EndsWith(":Scorer", StringComparison.Ordinal) && p.Value is { Length: > 0 })
            .Select(p => Path.Combine(Manifests.Deploy, "config", "scorers", Path.GetFileName(p.Value!)))
            .SelectMany(f => System.Text.Json.JsonDocument.Parse(File.ReadAllText(f)).RootElement.GetProperty("scorers").EnumerateArray())
            .Where(s => s.TryGetProperty("endpoint", out _)).Select(s => new Uri(s.GetProperty("endpoint").GetString()!).Host);
        return urls.Concat(kafka).Concat(scorers).Distinct(StringComparer.Ordinal);
    }

    private static IEnumerable<YamlNode> Descendants(YamlNode node)
    {
        yield return node;
        var children = node switch
        {
            YamlMappingNode map => map.Children.Values,
            YamlSequenceNode sequence => sequence.Children,
            _ => (IEnumerable<YamlNode>)[],
        };
        foreach (var child in children.SelectMany(Descendants))
        {
            yield return child;
        }
    }
}
