using Microsoft.Extensions.Hosting;

namespace Tao.Capture.Sinks;

/// <summary>Starts and stops every sink's shipper with the host, then releases the sinks.</summary>
internal sealed class ShippersHost(IReadOnlyList<SinkShipper> shippers) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var shipper in shippers)
        {
            await shipper.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        foreach (var shipper in shippers)
        {
            await shipper.StopAsync(cancellationToken).ConfigureAwait(false);
        }

        foreach (var shipper in shippers)
        {
            await shipper.Sink.DisposeAsync().ConfigureAwait(false);
        }
    }
}
