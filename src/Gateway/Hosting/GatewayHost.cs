using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Tao.Gateway.Settings;
using Tao.Storage;
using Tao.Storage.Schema;

namespace Tao.Gateway.Hosting;

/// <summary>Opens the store, migrates it when it answers, and runs the gateway on it.</summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private GatewayHost(ClickHouseStore store, WebApplication app, IReadOnlyList<string> addresses)
    {
        Store = store;
        App = app;
        Addresses = addresses;
    }

    public ClickHouseStore Store { get; }
    public WebApplication App { get; }
    public IReadOnlyList<string> Addresses { get; }

    public static async Task<GatewayHost> StartAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        var options = configuration.GetSection(ClickHouseOptions.Section).Get<ClickHouseOptions>() ?? new ClickHouseOptions();
        var store = await ClickHouseStore.OpenAsync(options, cancellationToken);
        WebApplication? app = null;
        try
        {
            if (store.Engine?.PriorityRefused is { } refused)
            {
                Console.Error.WriteLine($"warning: the embedded engine runs at the proxy's CPU priority, not nice {options.EmbeddedNice}: {refused}.");
            }

            try
            {
                await new SchemaMigrator(store).MigrateAsync(cancellationToken);
            }
            catch (Exception e) when (!store.IsEmbedded && e is HttpRequestException or TaskCanceledException)
            {
                // A server that is down must not stop the proxy: the ClickHouse sink migrates once it answers.
                Console.Error.WriteLine($"warning: ClickHouse at {options.Url} is not answering ({e.Message}); captures wait in the spool.");
            }

            var gatewayOptions = configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
            // The warm-up is for the JIT (hot methods get their optimised code before the first call); the native gateway
            // (tao-gateway, Native AOT) starts on compiled code and serves at full speed from its first second without it.
            if (gatewayOptions.WarmUpSeconds > 0 && System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled)
            {
                var warm = await GatewayWarmUp.RunAsync(store, TimeSpan.FromSeconds(gatewayOptions.WarmUpSeconds), connections: 16, cancellationToken);
                Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"warmed up: {warm.Calls} calls through a throwaway gateway in {warm.Elapsed.TotalSeconds:0.0} s ({warm.LastSecondCalls} in the last second" +
                    $"{(warm.Failed > 0 ? $", {warm.Failed} failed" : "")})"));
            }

            app = GatewayApp.Build(configuration, store);
            // The start's one-off work (the warm-up's throwaway gateway, the store's migration) leaves garbage the
            // collector frees in place, never returning the large-object heap's share: compacted once, here, before
            // the gateway listens, the process does not carry it under load.
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            await app.StartAsync(cancellationToken);
            return new GatewayHost(store, app, AddressesOf(app));
        }
        catch
        {
            // A gateway that cannot start (its port taken, a failed migration or warm-up) closes what it opened: the
            // embedded engine's threads outliving Main crashed the process on exit instead of letting it report why.
            try
            {
                await CloseAsync(app, store);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Console.Error.WriteLine($"warning: closing the gateway that failed to start: {e.Message}");
            }

            throw;
        }
    }

    /// <summary>
    /// Runs a gateway until Ctrl+C, SIGTERM or <paramref name="cancellationToken"/>, printing where it listens and its
    /// store: `tao gateway` and the native `tao-gateway`. Returns the process's exit code (2: an address is taken).
    /// </summary>
    public static async Task<int> RunAsync(IConfiguration configuration, string program, CancellationToken cancellationToken)
    {
        GatewayHost started;
        try
        {
            started = await StartAsync(configuration, cancellationToken);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            Console.Error.WriteLine($"{program}: {e.Message} Another process listens there; choose other addresses with --urls.");
            return 2;
        }

        await using var host = started;
        Console.WriteLine($"gateway listening on {string.Join(", ", host.Addresses)}");
        Console.WriteLine(host.Store.IsEmbedded ? $"store: embedded ClickHouse in {host.Store.Options.EmbeddedPath}" : $"store: {host.Store.Options.Url}");
        foreach (var line in EmbeddedStoreNotice.Lines(host.Store))
        {
            Console.WriteLine(line);
        }

        await WaitForShutdownAsync(cancellationToken);
        return 0;
    }

    /// <summary>
    /// Waits for Ctrl+C or SIGTERM (or the command's cancellation). ASP.NET Core's console lifetime takes SIGTERM to
    /// stop its host and keeps the process alive for Main to finish, so the command must hear the signal itself too,
    /// or a service manager's stop would leave the process running until it is killed.
    /// </summary>
    public static async Task WaitForShutdownAsync(CancellationToken cancellationToken)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(System.Runtime.InteropServices.PosixSignalContext context)
        {
            context.Cancel = true; // shut down in order (drain, flush the spool) instead of exiting on the spot
            stop.TrySetResult();
        }

        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnSignal);
        using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnSignal);
        using var registration = cancellationToken.Register(() => stop.TrySetResult());
        await stop.Task;
    }

    /// <summary>Where a started app listens (with port 0 configured: the ports it was given).</summary>
    internal static IReadOnlyList<string> AddressesOf(WebApplication app) =>
        [.. app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses];

    public ValueTask DisposeAsync() => new(CloseAsync(App, Store));

    /// <summary>
    /// Stops the app, then disposes it and the store, each whatever the step before it did. Stopping comes first also
    /// after a failed start: the host does not stop the services that started before the failure (sink shippers, state
    /// sync), and they read the spool and query the engine until stopped.
    /// </summary>
    private static async Task CloseAsync(WebApplication? app, ClickHouseStore store)
    {
        try
        {
            if (app is not null)
            {
                try
                {
                    await app.StopAsync(CancellationToken.None);
                }
                finally
                {
                    await app.DisposeAsync();
                }
            }
        }
        finally
        {
            await store.DisposeAsync();
        }
    }
}
