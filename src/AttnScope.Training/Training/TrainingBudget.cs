using System.Globalization;

namespace AttnScope.Training.Training;

/// <summary>
/// How long a run trains: a total step target and a total number of training minutes, counted over every session
/// of the run (a resumed run's checkpoint knows the training time spent so far). <c>--resume</c> alone continues
/// with what is left of the run's budget; <c>--resume --minutes N</c> gives it a new budget of N minutes from now
/// (<c>--steps N</c>: train until step N).
/// </summary>
internal sealed record TrainingBudget(long TotalSteps, double TotalMinutes)
{
    /// <summary>Minutes left after <paramref name="elapsedSeconds"/> of training (0 when used up), or +∞ without a time limit.</summary>
    public double RemainingMinutes(double elapsedSeconds) =>
        TotalMinutes <= 0 ? double.PositiveInfinity : Math.Max(0, TotalMinutes - elapsedSeconds / 60);

    /// <summary>
    /// The budget of a resumed session: <paramref name="saved"/> (the run's) when neither <paramref name="steps"/>
    /// nor <paramref name="minutes"/> is given, else a new one — N minutes from now (so the run's total becomes the
    /// time spent plus N) and/or a step target.
    /// </summary>
    public static TrainingBudget ForResume(TrainingBudget saved, long steps, double minutes, double elapsedSeconds) =>
        steps == 0 && minutes == 0 ? saved
            : new TrainingBudget(steps, minutes > 0 ? elapsedSeconds / 60 + minutes : 0);

    /// <summary>What this session may still train: (step limit, minute limit) with 0 for none.</summary>
    public (long Steps, double Minutes) SessionLimits(double elapsedSeconds)
    {
        double left = RemainingMinutes(elapsedSeconds);
        return (TotalSteps, double.IsPositiveInfinity(left) ? 0 : left);
    }

    /// <summary>True when nothing is left: the step target is reached or the minutes are spent.</summary>
    public bool IsUsedUp(long step, double elapsedSeconds) =>
        (TotalSteps > 0 && step >= TotalSteps) || (TotalMinutes > 0 && RemainingMinutes(elapsedSeconds) <= 1e-9);

    /// <summary>One phrase: "12 minutes", "step 3000", "step 3000 or 12 minutes" or "no limit".</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (TotalSteps > 0) parts.Add($"step {TotalSteps}");
        if (TotalMinutes > 0) parts.Add($"{Minutes(TotalMinutes)} minutes of training");
        return parts.Count == 0 ? "no limit" : string.Join(" or ", parts);
    }

    internal static string Minutes(double m) => m.ToString(m >= 10 || m == Math.Floor(m) ? "0.#" : "0.##", CultureInfo.InvariantCulture);

    /// <summary>Both ways to go on with a run, as commands with what each does.</summary>
    public IReadOnlyList<string> ResumeHints(string runPath, long step, double elapsedSeconds)
    {
        var quoted = Quote(runPath);
        double fresh = TotalMinutes > 0 ? TotalMinutes : TrainingDefaults.Minutes;
        var lines = new List<string>();
        if (IsUsedUp(step, elapsedSeconds))
            lines.Add($"the run's budget ({Describe()}) is used up; to train more: attnscope train --out {quoted} --resume --minutes {Minutes(fresh)}   (a new {Minutes(fresh)}-minute budget from now)");
        else
        {
            double left = RemainingMinutes(elapsedSeconds);
            string what = double.IsPositiveInfinity(left)
                ? (TotalSteps > 0 ? $"continues to step {TotalSteps}" : "continues without a limit")
                : $"continues with the remaining {ProgressReporter.Clock(left * 60)} of the run's {Describe()}";
            lines.Add($"resume with: attnscope train --out {quoted} --resume   ({what})");
            lines.Add($"         or: attnscope train --out {quoted} --resume --minutes {Minutes(fresh)}   (a new {Minutes(fresh)}-minute budget from now)");
        }
        return lines;
    }

    private static string Quote(string path) =>
        path.Length > 0 && path.All(ch => char.IsLetterOrDigit(ch) || "/._-+:,@".Contains(ch)) ? path : "'" + path.Replace("'", "'\\''") + "'";
}
