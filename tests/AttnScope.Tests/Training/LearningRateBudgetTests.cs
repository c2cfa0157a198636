using AttnScope.Tests.Cli;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Model;
using AttnScope.Training.Optim;
using AttnScope.Training.Training;

namespace AttnScope.Tests.Training;

/// <summary>
/// The decays that know the run's budget (cosine, linear, wsd): their shape from first principles (the rate as a
/// function of the share of the budget used, from the peak to a floor of 2% of it), time-based with only minutes,
/// step-based with only steps, the budget that runs out first with both, and a resumed run decaying over the budget
/// it actually has.
/// </summary>
public class LearningRateBudgetTests
{
    private const double Peak = 1e-3;
    private const double Floor = 0.02 * Peak; // the documented floor: 2% of the peak rate

    /// <summary>The schedule the training session builds from these options and budget.</summary>
    private static LearningRateSchedule Schedule(string decay, long steps = 0, double seconds = 0, int warmup = 10, double decayFraction = 0.2) =>
        TrainingSession.ScheduleFor(new TrainingOptions { LearningRate = Peak, WarmupSteps = warmup, Decay = decay, DecayFraction = decayFraction }, steps, seconds);

    [Fact]
    public void CosineWithOnlyMinutesFollowsTheTimeUsed()
    {
        var s = Schedule("cosine", seconds: 600);
        Assert.Equal(Peak, s.At(100, 0), 12);
        Assert.Equal(Floor + (Peak - Floor) / 2, s.At(100, 300), 12);                        // half the time: halfway
        Assert.Equal(Floor + (Peak - Floor) * (1 + Math.Cos(Math.PI / 4)) / 2, s.At(100, 150), 12);
        Assert.Equal(Floor, s.At(100, 600), 12);                                              // the end: the floor
        Assert.Equal(Floor, s.At(100, 900), 12);                                              // and not below
        Assert.Equal(s.At(100, 300), s.At(50_000, 300), 12);                                  // the step number does not matter
    }

    [Fact]
    public void LinearFallsInAStraightLineFromPeakToFloor()
    {
        var s = Schedule("linear", seconds: 1000);
        foreach (var t in new[] { 0.0, 100, 250, 500, 900, 1000 })
            Assert.Equal(Peak - (Peak - Floor) * t / 1000, s.At(500, t), 12);
    }

    [Fact]
    public void WsdIsExactlyThePeakBeforeItsWindowThenReachesTheFloor()
    {
        var s = Schedule("wsd", seconds: 1000); // default window: the last 20%
        foreach (var t in new[] { 0.0, 1, 400, 799.9, 800 })
            Assert.Equal(Peak, s.At(300, t)); // exactly, not approximately
        Assert.True(s.At(300, 800.5) < Peak);
        Assert.Equal(Floor + (Peak - Floor) / 2, s.At(300, 900), 12);
        Assert.Equal(Floor, s.At(300, 1000), 12);

        var half = Schedule("wsd", seconds: 1000, decayFraction: 0.5);
        Assert.Equal(Peak, half.At(300, 500));
        Assert.Equal(Floor + (Peak - Floor) / 2, half.At(300, 750), 12);

        // by steps: 10 warm-up steps, then 100 more; the window is the last 20 of them
        var steps = Schedule("wsd", steps: 110);
        Assert.Equal(Peak, steps.At(89));                                  // step 90: 80 of 100 used
        Assert.Equal(Floor + (Peak - Floor) / 2, steps.At(99), 12);        // step 100: 90 of 100 used
        Assert.Equal(Floor, steps.At(109), 12);
    }

    [Fact]
    public void WithOnlyStepsTheDecayFollowsTheStepsAfterWarmUpAndIgnoresTheClock()
    {
        var s = Schedule("cosine", steps: 110);
        Assert.Equal(Floor + (Peak - Floor) / 2, s.At(59, 0), 12);      // step 60: 50 of the 100 steps after warm-up
        Assert.Equal(s.At(59, 0), s.At(59, 1e6), 12);                   // no time budget: the clock does not count
        Assert.Equal(Floor, s.At(109), 12);
        var linear = Schedule("linear", steps: 110);
        Assert.Equal(Peak - (Peak - Floor) * 0.25, linear.At(34), 12);  // step 35: a quarter
    }

    [Fact]
    public void WithBothTheBudgetThatRunsOutFirstDecides()
    {
        var s = Schedule("linear", steps: 1010, seconds: 600);
        Assert.Equal(Peak - (Peak - Floor) * 0.5, s.At(509, 150), 12);  // steps half used, time a quarter
        Assert.Equal(Peak - (Peak - Floor) * 0.5, s.At(259, 300), 12);  // steps a quarter, time half
        Assert.Equal(Floor, s.At(1009, 10), 12);
        Assert.Equal(Floor, s.At(20, 600), 12);
    }

    [Fact]
    public void WarmUpRampsToThePeakAndNeverRisesAboveTheDecay()
    {
        var s = Schedule("cosine", seconds: 600, warmup: 100);
        Assert.Equal(Peak / 100, s.At(0, 0), 15);
        Assert.Equal(Peak / 2, s.At(49, 1), 12);
        Assert.Equal(Floor, s.At(49, 600), 12); // a budget over before the warm-up ends: the floor
        // without a budget the budget decays stay at the peak after warm-up
        Assert.Equal(Peak, Schedule("wsd").At(5000, 1e5));
        Assert.Equal(Peak, Schedule("cosine").At(5000, 1e5));
    }

    [Fact]
    public void TheTrainingStepUsesTheElapsedTimeItIsGiven()
    {
        var model = new Transformer(new TransformerConfig { VocabSize = 16, Dim = 16, Heads = 2, FeedForward = 32, EncoderLayers = 1, DecoderLayers = 1, MaxLength = 16 });
        model.Initialize(3);
        var options = new TrainingOptions { LearningRate = Peak, WarmupSteps = 1, Decay = "cosine", MaxMinutes = 10 };
        var session = new TrainingSession(model, options, TrainingLoopTests.Pairs, _ => [[0, 1], [2, 3, 4]]);
        session.Step(0);
        Assert.Equal(Floor + (Peak - Floor) / 2, session.Step(300).LearningRate, 12); // 5 of the 10 minutes
        Assert.Equal(300, session.State.ElapsedSeconds);
        session.UseBudget(0, 1200);                                                     // a resumed run's longer budget
        Assert.Equal(Floor + (Peak - Floor) * (1 + Math.Cos(Math.PI / 2)) / 2, session.Step(600).LearningRate, 12);
    }

    [Fact]
    public void TheNewOptionsRoundTripThroughConfigJsonAndAreValidated()
    {
        var config = new RunConfig { Model = TrainingDefaults.Model with { VocabSize = 1000 }, Training = new TrainingOptions { Decay = "wsd", DecayFraction = 0.35, AverageCheckpoints = 4, MaxMinutes = 15 } };
        var json = config.ToJson();
        Assert.Contains("\"decay\": \"wsd\"", json);
        Assert.Contains("\"decay_fraction\": 0.35", json);
        Assert.Contains("\"average_checkpoints\": 4", json);
        var back = RunConfig.FromJson(json, "config.json");
        Assert.Equal(config.Training, back.Training);
        foreach (var decay in new[] { "linear", "cosine", "inverse-sqrt", "constant" })
            Assert.Equal(decay, RunConfig.FromJson(json.Replace("\"wsd\"", $"\"{decay}\""), "config.json").Training.Decay);

        // a config.json written before these options existed reads with their defaults: 0.2 and no averaging
        var old = json.Replace("\"decay_fraction\": 0.35,", "").Replace("\"average_checkpoints\": 4,", "");
        Assert.DoesNotContain("decay_fraction", old);
        var legacy = RunConfig.FromJson(old, "config.json").Training;
        Assert.Equal(0.2, legacy.DecayFraction);
        Assert.Equal(0, legacy.AverageCheckpoints);

        foreach (var (bad, what) in new[]
                 {
                     (json.Replace("\"wsd\"", "\"exponential\""), "decay 'exponential'"),
                     (json.Replace("\"decay_fraction\": 0.35", "\"decay_fraction\": 0"), "decay_fraction"),
                     (json.Replace("\"decay_fraction\": 0.35", "\"decay_fraction\": 1.5"), "decay_fraction"),
                     (json.Replace("\"average_checkpoints\": 4", "\"average_checkpoints\": -1"), "average_checkpoints"),
                     (json.Replace("\"average_checkpoints\": 4", "\"average_checkpoints\": 101"), "average_checkpoints"),
                 })
        {
            var e = Assert.Throws<AttnScope.Capture.AttnScopeException>(() => RunConfig.FromJson(bad, "config.json"));
            Assert.Contains(what, e.Message);
        }
    }

    [Fact]
    public void TheCliValidatesTheNewOptions()
    {
        using var dir = new TempDir();
        var (code, _, err) = CliTests.Run("train", "--out", dir.File("a"), "--steps", "2", "--decay", "exponential");
        Assert.NotEqual(0, code);
        Assert.Contains("cosine, linear, wsd", err);
        (code, _, err) = CliTests.Run("train", "--out", dir.File("b"), "--steps", "2", "--decay", "wsd", "--decay-fraction", "0");
        Assert.NotEqual(0, code);
        Assert.Contains("decay_fraction", err);
        (code, _, err) = CliTests.Run("train", "--out", dir.File("c"), "--steps", "2", "--average", "101");
        Assert.NotEqual(0, code);
        Assert.Contains("average_checkpoints", err);
        (code, _, err) = CliTests.Run("train", "--out", dir.File("d"), "--resume", "--average", "3");
        Assert.NotEqual(0, code);
        Assert.Contains("--average is chosen when a run starts", err);
        Assert.False(Directory.Exists(dir.File("a")) || Directory.Exists(dir.File("b")) || Directory.Exists(dir.File("c")));
    }

    private static TrainRequest Tiny(string run, double minutes) => new()
    {
        Out = run, Minutes = minutes, Evaluate = false,
        Model = new TransformerConfig { Dim = 16, Heads = 2, FeedForward = 32, EncoderLayers = 1, DecoderLayers = 1 },
        Options = new TrainingOptions
        {
            BuiltinTrainPairs = 200, BuiltinTestPairs = 5, VocabSize = 200, BatchTokens = 300, CheckpointEvery = 100_000,
            LearningRate = Peak, Decay = "cosine", WarmupSteps = 1,
        },
    };

    private sealed class CancellingWriter(CancellationTokenSource cancel, string trigger) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(trigger)) cancel.Cancel();
        }
    }

    /// <summary>Runs one session of the run, stopped (like Ctrl-C) once step <paramref name="stopAt"/> is reported.</summary>
    private static (TrainOutcome Outcome, string Log) Session(TrainRequest request, long stopAt)
    {
        using var cancel = new CancellationTokenSource();
        var log = new CancellingWriter(cancel, $"step {stopAt} |");
        var outcome = RunTrainer.Run(request, log, interactive: false, cancel.Token);
        Assert.True(outcome.Cancelled, log.ToString());
        Assert.Equal(stopAt, outcome.Step);
        return (outcome, log.ToString());
    }

    /// <summary>The training time a run's newest checkpoint records, read from the file.</summary>
    private static double Spent(string run)
    {
        var folder = RunFolder.Open(run);
        return Checkpoint.Load(folder.LatestCheckpoint(), new Transformer(folder.Config.Model), optimizer: null).ElapsedSeconds;
    }

    [Fact]
    public void AResumedRunDecaysOverTheBudgetItActuallyHas()
    {
        using var dir = new TempDir();
        var run = dir.File("run");
        var (first, firstLog) = Session(Tiny(run, minutes: 5), stopAt: 1);
        Assert.Equal(300, first.Schedule!.TotalSeconds, 9);
        Assert.Contains("cosine decay", firstLog);

        // --resume alone: the run's own 5 minutes from its start, so the rates go on as if it had never stopped
        var (second, _) = Session(Tiny(run, 0) with { Resume = true }, stopAt: 2);
        Assert.Equal(300, second.Schedule!.TotalSeconds, 9);

        // --resume --minutes 2: the time already spent plus 2 minutes, and the decay reaches the floor at its end
        double spent = Spent(run);
        Assert.True(spent > 0, $"{spent}");
        var (third, _) = Session(Tiny(run, 0) with { Resume = true, Minutes = 2 }, stopAt: 3);
        Assert.Equal(spent + 120, third.Schedule!.TotalSeconds, 9); // spent is small here (µs), hence 9 digits
        Assert.Equal(Floor + (Peak - Floor) / 2, third.Schedule.At(1000, (spent + 120) / 2), 12);
        Assert.Equal(Floor, third.Schedule.At(1000, spent + 120), 12);

        // and a later --resume alone continues that new budget (saved in config.json)
        var (fourth, _) = Session(Tiny(run, 0) with { Resume = true }, stopAt: 4);
        Assert.Equal(spent + 120, fourth.Schedule!.TotalSeconds, 9);
    }
}
