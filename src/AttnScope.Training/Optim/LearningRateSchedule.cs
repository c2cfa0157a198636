using System.Globalization;
using AttnScope.Capture;

namespace AttnScope.Training.Optim;

/// <summary>
/// Linear warm-up to the peak rate over <see cref="WarmupSteps"/>, then a decay:
/// <list type="bullet">
/// <item><c>inverse-sqrt</c>: peak·√(warm-up / step), never below the floor;</item>
/// <item><c>constant</c>: the peak;</item>
/// <item><c>cosine</c>, <c>linear</c>, <c>wsd</c> (warm-up, stable, decay): functions of the fraction of the run's
/// budget used (<see cref="BudgetFraction"/>), reaching the floor when the budget ends. Cosine: half a cosine from
/// peak to floor; linear: a straight line from peak to floor; wsd: the peak until the last
/// <see cref="DecayFraction"/> of the budget, then a straight line to the floor. Without a budget (neither steps
/// nor seconds) they stay at the peak.</item>
/// </list>
/// </summary>
/// <param name="TotalSteps">The run's step target (0: none). The step fraction is that of the steps after warm-up:
/// (step − warm-up) / (total − warm-up).</param>
/// <param name="TotalSeconds">The run's training-time budget in seconds, counted from the run's start (the elapsed
/// seconds a checkpoint records), 0: none. The time fraction is elapsed / total.</param>
/// <param name="DecayFraction">wsd: the share of the budget, at its end, over which the rate falls to the floor.</param>
internal sealed record LearningRateSchedule(double PeakRate, int WarmupSteps, string Decay = "inverse-sqrt", int TotalSteps = 0, double FloorRate = 0,
    double TotalSeconds = 0, double DecayFraction = 0.2)
{
    /// <summary>Every decay <see cref="At"/> knows.</summary>
    public static readonly IReadOnlyList<string> Decays = ["inverse-sqrt", "cosine", "linear", "wsd", "constant"];

    /// <summary>The decays that follow the run's budget.</summary>
    public static bool FollowsBudget(string decay) => decay is "cosine" or "linear" or "wsd";

    /// <summary>The floor of the budget decays (and of inverse-sqrt) as a share of the peak rate.</summary>
    public const double FloorShare = 0.02;

    /// <summary>
    /// The share of the budget used before optimizer step <paramref name="step"/> (0-based) at
    /// <paramref name="elapsedSeconds"/> of the run's training time, in [0, 1]: the step fraction when only a step
    /// target is set, the time fraction when only a time budget is, the larger of both (the budget that runs out
    /// first) when both are; null without a budget.
    /// </summary>
    public double? BudgetFraction(long step, double elapsedSeconds)
    {
        double? fraction = null;
        if (TotalSteps > WarmupSteps)
            fraction = Math.Clamp((step + 1 - WarmupSteps) / (double)(TotalSteps - WarmupSteps), 0, 1);
        if (TotalSeconds > 0)
        {
            double t = Math.Clamp(elapsedSeconds / TotalSeconds, 0, 1);
            fraction = fraction is { } f ? Math.Max(f, t) : t;
        }
        return fraction;
    }

    /// <summary>The rate of optimizer step <paramref name="step"/> (0-based) taken at <paramref name="elapsedSeconds"/>
    /// of the run's training time (only the budget decays read the time).</summary>
    public double At(long step, double elapsedSeconds = 0)
    {
        long s = step + 1;
        double warm = s <= WarmupSteps ? PeakRate * s / WarmupSteps : PeakRate;
        switch (Decay)
        {
            case "inverse-sqrt": return s <= WarmupSteps ? warm : Math.Max(FloorRate, PeakRate * Math.Sqrt(Math.Max(1, WarmupSteps) / (double)s));
            case "constant": return warm;
            case "cosine" or "linear" or "wsd":
                // During warm-up the ramp, but never above the decay: a time budget shorter than the warm-up still ends at the floor.
                return BudgetFraction(step, elapsedSeconds) is { } p ? Math.Min(warm, Decayed(p)) : warm;
            default: throw new AttnScopeException($"unknown learning-rate decay '{Decay}' (expected {string.Join(", ", Decays)})");
        }
    }

    /// <summary>The rate of a budget decay once a share <paramref name="p"/> of the budget is used.</summary>
    private double Decayed(double p) => Decay switch
    {
        "cosine" => FloorRate + (PeakRate - FloorRate) * 0.5 * (1 + Math.Cos(Math.PI * p)),
        "linear" => PeakRate - (PeakRate - FloorRate) * p,
        _ => p <= 1 - DecayFraction ? PeakRate : PeakRate - (PeakRate - FloorRate) * Math.Min(1, (p - (1 - DecayFraction)) / DecayFraction),
    };

    /// <summary>One line for the training log: the warm-up, the decay and what it follows.</summary>
    public string Describe()
    {
        string peak = PeakRate.ToString("0.##e0", CultureInfo.InvariantCulture), floor = FloorRate.ToString("0.##e0", CultureInfo.InvariantCulture);
        string head = $"learning rate: warm-up over {WarmupSteps} steps to {peak}, then ";
        if (Decay == "inverse-sqrt") return head + $"inverse-square-root decay (floor {floor})";
        if (Decay == "constant") return head + "constant";
        var budget = new List<string>();
        if (TotalSteps > WarmupSteps) budget.Add($"step {TotalSteps}");
        if (TotalSeconds > 0)
        {
            string minutes = (TotalSeconds / 60).ToString("0.##", CultureInfo.InvariantCulture);
            budget.Add($"{minutes} minute{(minutes == "1" ? "" : "s")} of training");
        }
        if (budget.Count == 0) return head + $"constant ({Decay} needs --steps or --minutes to know when the run ends)";
        string shape = Decay switch
        {
            "cosine" => "cosine decay",
            "linear" => "linear decay",
            _ => $"stable until {(1 - DecayFraction).ToString("0.##%", CultureInfo.InvariantCulture)} of the budget, then linear decay",
        };
        string over = budget.Count == 2 ? $"{budget[0]} or {budget[1]}, whichever comes first" : budget[0];
        return head + $"{shape} to {floor} at the end of the run's budget ({over}; by the fraction of it used)";
    }
}
