namespace Tao.Trainer.Training;

/// <summary>Linear warm-up, then cosine decay to a floor: the schedule of every training loop here.</summary>
internal static class LearningRateSchedule
{
    /// <param name="step">Zero-based optimiser step.</param>
    /// <param name="steps">Planned steps; later steps stay at the floor.</param>
    /// <param name="warmup">Share of the planned steps spent warming up. Default: 0.05.</param>
    /// <param name="floor">End of the decay as a share of the peak. Default: 0.1.</param>
    public static double At(int step, int steps, double peak, double warmup = 0.05, double floor = 0.1)
    {
        var warm = Math.Max(1, (int)Math.Round(steps * warmup));
        if (step < warm)
        {
            return peak * (step + 1) / warm;
        }

        var progress = Math.Clamp((double)(step - warm) / Math.Max(1, steps - warm), 0, 1);
        return peak * (floor + (1 - floor) * 0.5 * (1 + Math.Cos(Math.PI * progress)));
    }
}
