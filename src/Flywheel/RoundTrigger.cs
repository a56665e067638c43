namespace Tao.Flywheel;

/// <summary>
/// When a group's next round is due: enough distinct new inputs since the watermark (<see cref="ModelGroupOptions.Threshold"/>)
/// and at least <see cref="ModelGroupOptions.MinIntervalMinutes"/> since the last round started, by the flywheel's clock.
/// </summary>
internal sealed class RoundTrigger(TimeProvider time)
{
    public bool IsDue(ModelGroupOptions group, long newInputs, RoundRecord? lastRound) =>
        newInputs >= group.Threshold
        && (lastRound is null || time.GetUtcNow().UtcDateTime - lastRound.StartedAt >= TimeSpan.FromMinutes(group.MinIntervalMinutes));
}
