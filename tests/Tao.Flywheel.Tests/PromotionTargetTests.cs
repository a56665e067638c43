using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Tao.Serving;
using Tao.Trainer.Registry;

namespace Tao.Flywheel.Tests;

/// <summary>Where promoted versions go: vLLM's runtime LoRA API, and the checks a tampered version fails.</summary>
public sealed class PromotionTargetTests
{
    [Fact]
    public async Task VllmTarget_ExportsAPeftAdapter_LoadsItAtRuntime_AndRoutesTheAliasToIt()
    {
        // vLLM cannot run on this machine (no GPU, no vLLM wheel); this stand-in speaks the two endpoints Tao uses, as
        // documented at docs.vllm.ai (serving/openai_compatible_server, "Dynamically serving LoRA Adapters").
        var loads = new ConcurrentQueue<(string Name, string Path)>();
        var chats = new ConcurrentQueue<string>();
        var (vllm, address) = await Tao.Bench.LoopbackHost.StartAsync(fake =>
        {
            fake.MapPost("/v1/load_lora_adapter", async (HttpContext context) =>
            {
                var body = await JsonDocument.ParseAsync(context.Request.Body);
                var path = body.RootElement.GetProperty("lora_path").GetString()!;
                if (!File.Exists(Path.Combine(path, "adapter_config.json")) || !File.Exists(Path.Combine(path, "adapter_model.safetensors")))
                {
                    return Results.BadRequest("not a PEFT adapter folder");
                }

                loads.Enqueue((body.RootElement.GetProperty("lora_name").GetString()!, path));
                return Results.Text("Success: LoRA adapter loaded");
            });
            fake.MapPost("/v1/chat/completions", async (HttpContext context) =>
            {
                var model = (await JsonDocument.ParseAsync(context.Request.Body)).RootElement.GetProperty("model").GetString()!;
                chats.Enqueue(model);
                return Results.Json(new { id = "c", @object = "chat.completion", created = 0, model, choices = new[] { new { index = 0, message = new { role = "assistant", content = "ok" }, finish_reason = "stop" } } });
            });
        });
        await using var _ = vllm;
        var vllmUrl = address.ToString().TrimEnd('/');

        await using var stack = await FlywheelStack.StartAsync(new()
        {
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Round:LoraRank"] = "4",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Round:LearningRate"] = "0.01",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Target:Kind"] = "Vllm",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Target:Cluster"] = "vllm",
            [$"Tao:Flywheel:Groups:{FlywheelStack.Group}:Target:VllmUrl"] = vllmUrl,
        });
        await new GatewayAdminClient(new HttpClient { BaseAddress = stack.GatewayUrl }, FlywheelStack.AdminKey).PutClusterAsync("vllm", vllmUrl, default);
        await stack.SendAsync(12); // twelve prompts: some are held out (by prompt hash), so the gate has evidence

        var round = await stack.Service.RunNowAsync(FlywheelStack.Group, default);
        Assert.NotNull(round);
        Assert.Equal("promoted", round.Decision);
        var (name, path) = Assert.Single(loads);
        Assert.Equal(round.CandidateVersion, name);
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(path, "adapter_config.json"))))
        {
            Assert.Equal("LORA", config.RootElement.GetProperty("peft_type").GetString());
            Assert.Equal(4, config.RootElement.GetProperty("r").GetInt32());
            Assert.Equal(FlywheelStack.BaseVersion, config.RootElement.GetProperty("base_model_name_or_path").GetString());
        }

        Assert.False(File.Exists(Path.Combine(path, "model.safetensors")), "the vLLM target ships the adapter, not merged weights");
        Assert.Equal(round.CandidateVersion, await stack.AliasTargetAsync());
        using var http = new HttpClient { BaseAddress = stack.GatewayUrl };
        var response = await http.PostAsJsonAsync("/v1/chat/completions", new { model = FlywheelStack.Alias, messages = new[] { new { role = "user", content = "hi" } } });
        response.EnsureSuccessStatusCode();
        Assert.Equal(round.CandidateVersion, Assert.Single(chats));
    }

    [Fact]
    public async Task ATamperedVersion_IsRefusedByTheRegistryTheServerAndThePromoter()
    {
        await using var stack = await FlywheelStack.StartAsync();
        var copy = stack.Registry.Register(stack.Registry.Folder(FlywheelStack.BaseVersion),
            new ModelVersion { Id = "g-copy", Parent = FlywheelStack.BaseVersion, CreatedAt = DateTimeOffset.UtcNow, Status = "candidate" });
        stack.Registry.Verify(copy.Id);
        var weights = Path.Combine(stack.Registry.Folder(copy.Id), "model.safetensors");
        using (var stream = File.OpenWrite(weights))
        {
            stream.Seek(-4, SeekOrigin.End);
            stream.Write([1, 2, 3, 4]);
        }

        Assert.ThrowsAny<InvalidDataException>(() => stack.Registry.Verify(copy.Id));
        Assert.ThrowsAny<InvalidDataException>(() => stack.Server.Services.GetRequiredService<ModelHost>().Load(copy.Id, stack.Registry.Folder(copy.Id)));
        await Assert.ThrowsAnyAsync<InvalidDataException>(() => stack.Promoter.PromoteAsync(stack.GroupOptions, copy.Id, default));
        Assert.Equal(FlywheelStack.BaseVersion, await stack.AliasTargetAsync());
        using var http = new HttpClient { BaseAddress = stack.ServerUrl };
        Assert.DoesNotContain(copy.Id, await http.GetStringAsync("/v1/models"));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
    }
}
