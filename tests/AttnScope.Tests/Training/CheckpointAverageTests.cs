using AttnScope.Capture.SafeTensors;
using AttnScope.Tests.Support;
using AttnScope.Training.Checkpoints;
using AttnScope.Training.Decoding;
using AttnScope.Training.Model;
using AttnScope.Training.Training;

namespace AttnScope.Tests.Training;

/// <summary>
/// <c>train --average N</c>: the final weights are the element-wise mean of the last N checkpoints (checked here
/// against a mean computed from the checkpoint files themselves), translate/evaluate/capture load them, the
/// checkpoints keep the raw weights and optimizer moments, and a resumed run continues from those bit for bit.
/// </summary>
public class CheckpointAverageTests
{
    private static TrainRequest Tiny(string run, long steps, int average) => new()
    {
        Out = run, Steps = steps, Evaluate = false,
        Model = new TransformerConfig { Dim = 16, Heads = 2, FeedForward = 32, EncoderLayers = 1, DecoderLayers = 1 },
        Options = new TrainingOptions
        {
            BuiltinTrainPairs = 200, BuiltinTestPairs = 5, VocabSize = 200, BatchTokens = 300, CheckpointEvery = 2, AverageCheckpoints = average,
        },
    };

    /// <summary>Every tensor of a safetensors file by name (parameters and, in a step checkpoint, adam moments).</summary>
    private static Dictionary<string, float[]> Tensors(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        return file.Entries.Keys.ToDictionary(name => name, name => file.ReadFloat(name).Data.ToArray());
    }

    [Fact]
    public void TheFinalWeightsAreTheMeanOfTheLastNCheckpointsAndResumeUsesTheRawOnes()
    {
        using var dir = new TempDir();
        var runB = dir.File("b");
        var log = new StringWriter();
        var outcome = RunTrainer.Run(Tiny(runB, steps: 7, average: 3), log, interactive: false, CancellationToken.None);
        Assert.Equal(7, outcome.Step);
        var run = RunFolder.Open(runB);
        Assert.Equal(3, run.Config.Training.AverageCheckpoints);                         // the run's config says so
        Assert.Contains("the mean of the last 3 checkpoints", log.ToString());            // and its log, before and after
        Assert.Contains("the final weights are the mean of 3 checkpoints (steps 4–7)", log.ToString());
        Assert.Equal([4L, 6, 7], outcome.AveragedSteps);
        Assert.Equal([4L, 6, 7], run.Checkpoints().Select(c => c.Step).TakeLast(3));     // kept for the average (keep_checkpoints is 2)

        // the element-wise mean, computed here from the three checkpoint files
        var files = run.Checkpoints().TakeLast(3).Select(c => Tensors(c.Path)).ToList();
        var averaged = Tensors(run.AveragedPath);
        Assert.DoesNotContain(averaged.Keys, k => k.StartsWith("adam.")); // weights only
        var parameterNames = files[0].Keys.Where(k => !k.StartsWith("adam.")).ToList();
        Assert.Equal(parameterNames.Order(), averaged.Keys.Order());
        bool differsFromLast = false;
        foreach (var name in parameterNames)
        {
            var mean = averaged[name];
            for (int j = 0; j < mean.Length; j++)
            {
                double expected = (files[0][name][j] + (double)files[1][name][j] + files[2][name][j]) / 3;
                Assert.True(Math.Abs(mean[j] - expected) <= 1e-7 * Math.Max(1, Math.Abs(expected)), $"{name}[{j}]: {mean[j]} vs {expected}");
                differsFromLast |= mean[j] != files[2][name][j];
            }
        }
        Assert.True(differsFromLast, "the average equals the last checkpoint: nothing was averaged");

        // translate, evaluate and capture open the averaged weights
        Assert.Equal([4L, 6, 7], run.AveragedSteps());
        Assert.Equal(run.AveragedPath, run.ModelWeights());
        var translator = Translator.Open(runB);
        Assert.Equal(run.AveragedPath, translator.WeightsPath);
        foreach (var p in translator.Model.Parameters) Assert.Equal(averaged[p.Name], p.Value);

        var (code, _, err) = AttnScope.Tests.Cli.CliTests.Run("evaluate", runB, "--limit", "2");
        Assert.True(code == 0, err);
        Assert.Contains("scoring the averaged weights: the mean of 3 checkpoints (steps 4–7)", err);

        // the newest step checkpoint keeps the raw weights and the optimizer moments
        var raw = files[2];
        Assert.Contains(raw.Keys, k => k.StartsWith("adam.m."));
        Assert.Equal(run.CheckpointPath(7), run.LatestCheckpoint());

        // resuming continues from the raw weights: the same step-8 checkpoint as a run trained straight to step 8
        var resumed = RunTrainer.Run(Tiny(runB, steps: 8, average: 0) with { Resume = true }, new StringWriter(), interactive: false, CancellationToken.None);
        Assert.Equal(8, resumed.Step);
        var runA = dir.File("a");
        RunTrainer.Run(Tiny(runA, steps: 8, average: 3), new StringWriter(), interactive: false, CancellationToken.None);
        var straight = Tensors(RunFolder.Open(runA).CheckpointPath(8));
        var continued = Tensors(RunFolder.Open(runB).CheckpointPath(8));
        Assert.Equal(straight.Keys.Order(), continued.Keys.Order());
        foreach (var (name, values) in straight) Assert.True(values.AsSpan().SequenceEqual(continued[name]), $"{name} differs after resuming");

        // the resumed run made a new average (steps 6, 7, 8); the one of step 7 is not used any more
        Assert.Equal([6L, 7, 8], resumed.AveragedSteps);
        Assert.Equal([6L, 7, 8], RunFolder.Open(runB).AveragedSteps());
    }

    [Fact]
    public void AnAverageOlderThanTheNewestCheckpointIsNotUsed()
    {
        using var dir = new TempDir();
        var path = dir.File("run");
        RunTrainer.Run(Tiny(path, steps: 4, average: 2), new StringWriter(), interactive: false, CancellationToken.None);
        var run = RunFolder.Open(path);
        Assert.Equal(run.AveragedPath, run.ModelWeights());
        File.Copy(run.CheckpointPath(4), run.CheckpointPath(5)); // as if a later session had saved step 5 and stopped
        Assert.Null(run.AveragedSteps());
        Assert.Equal(run.CheckpointPath(5), run.ModelWeights());
        Assert.Equal(run.CheckpointPath(5), Translator.Open(path).WeightsPath);
    }

    [Fact]
    public void WithoutAverageNoAveragedFileIsWritten()
    {
        using var dir = new TempDir();
        var path = dir.File("run");
        var outcome = RunTrainer.Run(Tiny(path, steps: 4, average: 0), new StringWriter(), interactive: false, CancellationToken.None);
        var run = RunFolder.Open(path);
        Assert.Empty(outcome.AveragedSteps);
        Assert.False(File.Exists(run.AveragedPath));
        Assert.Equal(run.CheckpointPath(4), run.ModelWeights());
    }
}
