using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Tao.Gateway.Tests;

public sealed class HostingTests(GatewayFixture gateway) : IClassFixture<GatewayFixture>
{
    [Fact]
    public void TheGateway_WatchesNoFiles_UnderItsWorkingDirectory()
    {
        // The web host's defaults load appsettings.json from the working directory with reload-on-change: a recursive
        // FileSystemWatcher there held one inotify watch per directory below it (4,984 with a benchmark's data folder,
        // every ClickHouse part directory included) and woke for every part the engine wrote.
        var environment = gateway.App.Services.GetRequiredService<IHostEnvironment>();
        var fileSources = ((IConfigurationRoot)gateway.App.Configuration).Providers.OfType<FileConfigurationProvider>().Select(p => p.Source).ToList();

        Assert.Equal(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory), Path.TrimEndingDirectorySeparator(environment.ContentRootPath));
        Assert.All(fileSources, source => Assert.False(source.ReloadOnChange, $"{source.Path} reloads on change"));
    }

    [Fact]
    public async Task TheGateway_RefusesToStart_WithAModelWhoseApiItDoesNotKnow()
    {
        // Read as OpenAI, such a model would be sent the wrong credential header; the mistake is stopped at start.
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(
            () => gateway.StartReplicaAsync("gw-bad-api", new() { ["Tao:Models:base-model:Api"] = "antropic" }));

        Assert.Contains("Tao:Models:base-model:Api: api must be 'openai' or 'anthropic', not 'antropic'.", failure.Message, StringComparison.Ordinal);
    }
}
