using System.Globalization;
using AttnScope.Capture;
using AttnScope.Training.Model;

namespace AttnScope.Training.Checkpoints;

/// <summary>
/// Weight averaging (<c>train --average N</c>): at the end of a run the model's weights become the element-wise
/// mean of the parameters of the run's last N checkpoints, saved as <c>checkpoints/averaged.safetensors</c> (weights
/// only, no optimizer moments). The step checkpoints keep the raw weights and the optimizer state, so a resumed run
/// continues from the raw weights; translate, evaluate and capture load the averaged file while it belongs to the
/// run's newest checkpoint (<see cref="RunFolder.ModelWeights"/>).
/// </summary>
internal static class CheckpointAverage
{
    /// <summary>Metadata key of the averaged file: the steps of the checkpoints averaged, comma-separated.</summary>
    public const string StepsKey = "averaged_steps";

    /// <summary>Writes the element-wise mean of the parameters of the checkpoints at <paramref name="paths"/> (each
    /// checked like any checkpoint of this model) into <paramref name="model"/>; sums are kept in double.</summary>
    public static void Average(IReadOnlyList<string> paths, Transformer model)
    {
        if (paths.Count == 0) throw new AttnScopeException("there are no checkpoints to average");
        var sums = model.Parameters.Select(p => new double[p.Value.Length]).ToArray();
        var scratch = new Transformer(model.Config);
        foreach (var path in paths)
        {
            Checkpoint.Load(path, scratch, optimizer: null);
            for (int i = 0; i < sums.Length; i++)
            {
                var sum = sums[i];
                var value = scratch.Parameters[i].Value;
                for (int j = 0; j < sum.Length; j++) sum[j] += value[j];
            }
        }
        for (int i = 0; i < sums.Length; i++)
        {
            var p = model.Parameters[i];
            for (int j = 0; j < p.Value.Length; j++) p.Value[j] = (float)(sums[i][j] / paths.Count);
            p.Touch();
        }
    }

    /// <summary>
    /// The end of a run with <c>--average <paramref name="count"/></c>: averages the last <paramref name="count"/>
    /// checkpoints after step 0 (the untrained weights never count) into <paramref name="model"/> and saves them as
    /// the run's averaged file, with <paramref name="state"/> (the run's final state) in its metadata. Returns the
    /// steps averaged; empty (and nothing written) when <paramref name="count"/> is below 2 or fewer than two
    /// trained checkpoints exist, and the model keeps its own weights.
    /// </summary>
    public static IReadOnlyList<long> AverageRun(RunFolder run, Transformer model, int count, TrainingState state)
    {
        if (count < 2) return [];
        var chosen = run.Checkpoints().Where(c => c.Step > 0).TakeLast(count).ToList();
        if (chosen.Count < 2) return [];
        if (chosen[^1].Step != state.Step)
            throw new AttnScopeException($"the newest checkpoint is at step {chosen[^1].Step}, not at the run's step {state.Step}; nothing was averaged");
        Average(chosen.Select(c => c.Path).ToList(), model);
        var steps = chosen.Select(c => c.Step).ToList();
        Checkpoint.Save(run.AveragedPath, model, optimizer: null, state,
            new Dictionary<string, string> { [StepsKey] = string.Join(",", steps.Select(s => s.ToString(CultureInfo.InvariantCulture))) });
        return steps;
    }

    /// <summary>"the mean of N checkpoints (steps A–B)".</summary>
    public static string Describe(IReadOnlyList<long> steps) =>
        steps.Count == 0 ? "the newest checkpoint's own weights" : $"the mean of {steps.Count} checkpoints (steps {steps[0]}–{steps[^1]})";
}
