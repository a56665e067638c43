namespace Tao.Flywheel.Tests;

/// <summary>The rules the version and round statuses carry (what may serve, what moves the watermark).</summary>
public sealed class StatusTests
{
    [Fact]
    public void OnlyTheBaseAndPromotedVersions_MayServe()
    {
        Assert.True(VersionStatus.CanServe(VersionStatus.Base));
        Assert.True(VersionStatus.CanServe(VersionStatus.Promoted));
        Assert.All(new[] { VersionStatus.Candidate, VersionStatus.Rejected, VersionStatus.RolledBack }, s => Assert.False(VersionStatus.CanServe(s)));
    }

    [Fact]
    public void OnlyRoundsWhoseGateJudgedTheirInputs_MoveTheWatermark()
    {
        Assert.All(new[] { RoundStatus.Promoted, RoundStatus.Rejected }, s => Assert.True(RoundStatus.JudgedItsInputs(s)));
        Assert.All(new[] { RoundStatus.Running, RoundStatus.Failed, RoundStatus.Abandoned, RoundStatus.RolledBack }, s => Assert.False(RoundStatus.JudgedItsInputs(s)));
    }
}
