using System.Diagnostics;
using System.Globalization;

namespace AttnScope.Training.Training;

/// <summary>
/// Training progress: loss, target tokens per second and ETA. On a terminal one line is rewritten in place with a
/// carriage return a few times a second; when output is redirected, a plain line is written every
/// <see cref="PlainInterval"/>.
/// </summary>
internal sealed class ProgressReporter(TextWriter output, bool interactive, long stepLimit, double secondsLimit)
{
    public TimeSpan PlainInterval { get; init; } = TimeSpan.FromSeconds(15);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastPrint = TimeSpan.FromDays(-1);
    private double _smoothedLoss = double.NaN;
    private long _tokens, _startStep = -1;
    private int _lastWidth;
    private StepReport? _last;
    private long _printedStep = -1;

    public double TokensPerSecond => _tokens / Math.Max(1e-9, _clock.Elapsed.TotalSeconds);
    public long Tokens => _tokens;

    public void Update(StepReport r, bool force = false)
    {
        if (_startStep < 0) _startStep = r.Step - 1;
        _tokens += r.Loss.Tokens;
        double loss = r.Loss.MeanLoss;
        _smoothedLoss = double.IsNaN(_smoothedLoss) ? loss : 0.95 * _smoothedLoss + 0.05 * loss;
        var now = _clock.Elapsed;
        var interval = interactive ? TimeSpan.FromMilliseconds(250) : PlainInterval;
        _last = r;
        if (!force && now - _lastPrint < interval) return;
        _lastPrint = now;
        _printedStep = r.Step;
        string line = Line(r, now);
        if (interactive)
        {
            output.Write("\r" + line.PadRight(_lastWidth));
            _lastWidth = line.Length;
        }
        else output.WriteLine(line);
        output.Flush();
    }

    /// <summary>Ends the in-place line (so the next output starts on a fresh line).</summary>
    public void Finish()
    {
        if (_last is { } last && last.Step != _printedStep)
        {
            string line = Line(last, _clock.Elapsed);
            if (interactive) output.Write("\r" + line.PadRight(_lastWidth));
            else output.WriteLine(line);
            _lastWidth = line.Length;
        }
        if (interactive && _lastWidth > 0) output.WriteLine();
        _lastWidth = 0;
    }

    private string Line(StepReport r, TimeSpan now)
    {
        var c = CultureInfo.InvariantCulture;
        double sessionSteps = r.Step - _startStep;
        double stepsPerSecond = sessionSteps / Math.Max(1e-9, now.TotalSeconds);
        double eta = double.NaN;
        if (stepLimit > 0) eta = (stepLimit - r.Step) / Math.Max(1e-9, stepsPerSecond);
        if (secondsLimit > 0) eta = double.IsNaN(eta) ? secondsLimit - now.TotalSeconds : Math.Min(eta, secondsLimit - now.TotalSeconds);
        string steps = stepLimit > 0 ? $"step {r.Step}/{stepLimit}" : $"step {r.Step}";
        string bar = "";
        double fraction = stepLimit > 0 ? (double)r.Step / stepLimit : secondsLimit > 0 ? now.TotalSeconds / secondsLimit : double.NaN;
        if (!double.IsNaN(fraction))
        {
            int filled = (int)Math.Clamp(Math.Round(fraction * 20), 0, 20);
            bar = "[" + new string('#', filled) + new string('.', 20 - filled) + "] ";
        }
        string tail = double.IsNaN(eta) ? "" : $" | ETA {Clock(Math.Max(0, eta))}";
        return string.Create(c, $"{bar}{steps} | loss {_smoothedLoss:F3} | lr {r.LearningRate:0.0e0} | {TokensPerSecond:N0} tok/s | {Clock(now.TotalSeconds)} elapsed{tail}");
    }

    public static string Clock(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}" : $"{t.Minutes:D2}:{t.Seconds:D2}";
    }
}
