using Microsoft.Extensions.Hosting;

namespace Tao.Capture.Sinks;

/// <summary>
/// Starts and stops every sink's shipper with the host. The sinks belong to the container that made them, which
/// releases them after the host has stopped (releasing them here as well flushed a disposed Kafka producer, and the
/// gateway exited with an unhandled exception on every shutdown with the Kafka sink on).
/// </summary>
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
    }
}
