using Tao.Cli.Faults;

namespace Tao.Deploy.Tests.Faults;

/// <summary>
/// The crash scenario of `tao faults`, short, as a test: a gateway process on loopback under open-loop load is killed
/// with SIGKILL and restarted on the same data; every call a client saw answered reaches the store. (The sink outages
/// are tested in-process in Tao.Capture.Tests; all scenarios run in `./tao faults`.)
/// </summary>
public sealed class FaultTests
{
    [Fact]
    public async Task KillNine_OfTheGatewayUnderLoad_LosesNoAnsweredCall()
    {
        var options = new FaultOptions(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(2), Rate: 100, Connections: 8);
        var previous = Directory.GetCurrentDirectory();
        var work = Path.Combine(Path.GetTempPath(), "tao-fault-tests-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        Directory.SetCurrentDirectory(work);
        try
        {
            var rows = await new FaultRunner(options, TextWriter.Null).RunAsync(["kill-9"], CancellationToken.None);
            Assert.Single(rows);
            foreach (var row in rows)
            {
                Assert.True(row.Passed, $"{row.Scenario}: answered {row.Answered}, missing {row.Missing}, duplicates {row.Duplicates}, client errors {row.ClientErrors}; {row.Notes}");
                Assert.True(row.Answered >= options.Rate, $"{row.Scenario}: only {row.Answered} answered before the kill");
            }
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
            try { Directory.Delete(work, recursive: true); }
            catch (IOException) { } // a child still closing a file: the OS's temp cleanup takes it later
        }
    }
}
