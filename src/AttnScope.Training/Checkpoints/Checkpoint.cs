using System.Globalization;
using AttnScope.Capture;
using AttnScope.Capture.SafeTensors;
using AttnScope.Training.Model;
using AttnScope.Training.Optim;

namespace AttnScope.Training.Checkpoints;

/// <summary>Where training stands: enough to continue a run exactly where it stopped.</summary>
internal sealed record TrainingState(long Step, int Epoch, int BatchInEpoch, long TokensSeen, double ElapsedSeconds);

/// <summary>
/// A checkpoint is one safetensors file: every parameter under its name, the AdamW moments as
/// <c>adam.m.NAME</c> / <c>adam.v.NAME</c>, and the training state in the metadata.
/// </summary>
internal static class Checkpoint
{
    public const string FormatId = "attnscope.checkpoint/1";

    /// <param name="extra">More metadata (e.g. the steps an averaged checkpoint was made of).</param>
    public static void Save(string path, Transformer model, AdamW? optimizer, TrainingState state, IReadOnlyDictionary<string, string>? extra = null)
    {
        var tensors = new List<(string, FloatTensor)>();
        foreach (var p in model.Parameters) tensors.Add((p.Name, new FloatTensor(p.Shape, p.Value)));
        if (optimizer is not null)
            for (int i = 0; i < optimizer.Parameters.Count; i++)
            {
                var p = optimizer.Parameters[i];
                tensors.Add(("adam.m." + p.Name, new FloatTensor(p.Shape, optimizer.M[i])));
                tensors.Add(("adam.v." + p.Name, new FloatTensor(p.Shape, optimizer.V[i])));
            }
        var meta = new Dictionary<string, string>
        {
            ["format"] = FormatId,
            ["step"] = state.Step.ToString(CultureInfo.InvariantCulture),
            ["epoch"] = state.Epoch.ToString(CultureInfo.InvariantCulture),
            ["batch_in_epoch"] = state.BatchInEpoch.ToString(CultureInfo.InvariantCulture),
            ["tokens_seen"] = state.TokensSeen.ToString(CultureInfo.InvariantCulture),
            ["elapsed_seconds"] = state.ElapsedSeconds.ToString("R", CultureInfo.InvariantCulture),
            ["adam_steps"] = (optimizer?.Steps ?? 0).ToString(CultureInfo.InvariantCulture),
        };
        if (extra is not null) foreach (var (k, v) in extra) meta[k] = v;
        SafeTensorsFile.Write(path, tensors, meta);
    }

    /// <summary>Loads weights (and, when given, optimizer moments) into the model; a clear error for a file that
    /// is not a checkpoint of this model.</summary>
    public static TrainingState Load(string path, Transformer model, AdamW? optimizer)
    {
        if (!File.Exists(path)) throw new AttnScopeException($"checkpoint '{path}' does not exist");
        using var file = SafeTensorsFile.Open(path);
        string Bad(string why) => $"'{path}' is not a usable checkpoint: {why}";
        if (!file.Metadata.TryGetValue("format", out var format) || format != FormatId)
            throw new AttnScopeException(Bad($"its metadata has no format {FormatId}"));
        void Read(string name, int[] shape, float[] into)
        {
            if (!file.Contains(name)) throw new AttnScopeException(Bad($"tensor '{name}' is missing (was it trained with another config?)"));
            var t = file.ReadFloat(name);
            if (!t.Shape.SequenceEqual(shape))
                throw new AttnScopeException(Bad($"tensor '{name}' has shape {t.ShapeText}, the model needs [{string.Join(", ", shape)}]"));
            foreach (var v in t.Data)
                if (!float.IsFinite(v)) throw new AttnScopeException(Bad($"tensor '{name}' holds {v}"));
            t.Data.CopyTo(into, 0);
        }
        foreach (var p in model.Parameters)
        {
            Read(p.Name, p.Shape, p.Value);
            p.Touch();
        }
        if (optimizer is not null)
        {
            for (int i = 0; i < optimizer.Parameters.Count; i++)
            {
                var p = optimizer.Parameters[i];
                Read("adam.m." + p.Name, p.Shape, optimizer.M[i]);
                Read("adam.v." + p.Name, p.Shape, optimizer.V[i]);
            }
            optimizer.Steps = Long("adam_steps");
        }
        long Long(string key) =>
            file.Metadata.TryGetValue(key, out var s) && long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v
            : throw new AttnScopeException(Bad($"metadata '{key}' is missing or not a number"));
        double elapsed = file.Metadata.TryGetValue("elapsed_seconds", out var es) && double.TryParse(es, NumberStyles.Float, CultureInfo.InvariantCulture, out var e) ? e : 0;
        return new TrainingState(Long("step"), (int)Long("epoch"), (int)Long("batch_in_epoch"), Long("tokens_seen"), elapsed);
    }
}
