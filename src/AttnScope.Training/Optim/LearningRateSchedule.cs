using AttnScope.Capture;

namespace AttnScope.Training.Optim;

/// <summary>Linear warm-up to the peak rate, then inverse-square-root or cosine decay.</summary>
internal sealed record LearningRateSchedule(double PeakRate, int WarmupSteps, string Decay = "inverse-sqrt", int TotalSteps = 0, double FloorRate = 0)
{
    public double At(long step)
    {
        long s = step + 1;
        if (s <= WarmupSteps) return PeakRate * s / WarmupSteps;
        return Decay switch
        {
            "inverse-sqrt" => Math.Max(FloorRate, PeakRate * Math.Sqrt(Math.Max(1, WarmupSteps) / (double)s)),
            "cosine" => TotalSteps <= WarmupSteps ? PeakRate
                : FloorRate + (PeakRate - FloorRate) * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1.0, (s - WarmupSteps) / (double)(TotalSteps - WarmupSteps)))),
            "constant" => PeakRate,
            _ => throw new AttnScopeException($"unknown learning-rate decay '{Decay}' (expected inverse-sqrt, cosine or constant)"),
        };
    }
}
