using AttnScope.Capture;
using AttnScope.Training.Checkpoints;
using AttnScope.Views.Animation;
using AttnScope.Views.Static;

namespace AttnScope.Cli;

/// <summary>
/// Animations of a translation model's cross attention, drawn with the heatmap renderer and written by
/// <see cref="AnimationWriter"/>: step by step while a translation is produced (frame t: the new target token and
/// what it attended to in the source), and across training (the probe sentence at every checkpoint).
/// </summary>
internal static class TranslationAnimation
{
    /// <summary>Decoding frames from a translation capture: one per produced piece (and the end of sentence).</summary>
    public static List<AnimationFrame> DecodingFrames(AttentionCapture capture, int layer, string modelName)
    {
        var (mean, produced) = ProducedRows(capture, layer);
        int rows = produced.Count, keys = capture.Tokens.Count;
        var renderer = new HeatmapRenderer();
        var frames = new List<AnimationFrame>();
        for (int t = 0; t < rows; t++)
        {
            var data = new float[rows * keys];
            Array.Copy(mean, data, (t + 1) * keys);
            var tokens = produced.Select((tok, i) => i <= t ? tok : new CaptureToken("·", -1, -1, -1, Segment.B, true)).ToList();
            var png = renderer.RenderPng(CrossOnly(capture, data, rows, tokens), new HeatmapOptions
            {
                Stack = AttentionStack.Cross, Heads = HeadSelection.Single(0), ColorMax = 1f,
                Title = $"{modelName} · cross attention · layer {layer} · mean of heads · {TranslationRows.Caption}",
            });
            frames.Add(AnimationFrame.FromEncoded(png, $"step {t + 1} of {rows}: {TokenText.Printable(produced[t].Text)}"));
        }
        return frames;
    }

    /// <summary>Training frames: the probe capture of every checkpoint in the run folder, oldest first.</summary>
    public static List<AnimationFrame> TrainingFrames(RunFolder run, int layer)
    {
        var probes = run.Probes();
        if (probes.Count == 0) throw new AttnScopeException($"run folder '{run.Path}' has no probe captures in {RunFolder.ProbeFolder}/");
        var renderer = new HeatmapRenderer();
        var frames = new List<AnimationFrame>();
        foreach (var (step, path) in probes)
        {
            var cap = AttentionCapture.Load(path);
            var (mean, produced) = ProducedRows(cap, layer);
            var png = renderer.RenderPng(CrossOnly(cap, mean, produced.Count, produced), new HeatmapOptions
            {
                Stack = AttentionStack.Cross, Heads = HeadSelection.Single(0), ColorMax = 1f,
                Title = $"probe · cross attention · layer {layer} · mean of heads · {TranslationRows.Caption}",
            });
            frames.Add(AnimationFrame.FromEncoded(png, $"training step {step}"));
        }
        return frames;
    }

    /// <summary>
    /// The head-mean cross attention of one layer, with each row labelled by what its step read and produced (row t of
    /// a translation capture is the step that read decoder input t and produced input t+1, or the end of sentence).
    /// </summary>
    private static (float[] Mean, List<CaptureToken> Produced) ProducedRows(AttentionCapture capture, int layer)
    {
        var cross = capture.Stack(AttentionStack.Cross);
        if (capture.Tokens.Count == 0 || !capture.Tokens[^1].IsSpecial)
            throw new AttnScopeException("the capture is not a translation capture (its source does not end in an end-of-sentence token)");
        CheckLayer(cross, layer);
        // the same "input→produced" labels as the static views (TranslationRows)
        var produced = TranslationRows.Labels(capture).Take(cross.Queries).ToList();
        return (HeadMean(cross, layer), produced);
    }

    private static AttentionCapture CrossOnly(AttentionCapture capture, float[] data, int rows, IReadOnlyList<CaptureToken> rowTokens) =>
        new(capture.Metadata, capture.Tokens,
            [new AttentionStack(AttentionStack.Cross, new FloatTensor([1, 1, rows, capture.Tokens.Count], data))], rowTokens);

    public static void Save(string path, List<AnimationFrame> frames, int delayMs)
    {
        if (!path.EndsWith(".gif", StringComparison.OrdinalIgnoreCase))
            throw new AttnScopeException($"cannot write animation '{path}': only .gif is supported");
        try { AnimationWriter.SaveGif(path, frames, new AnimationOptions { DelayMs = delayMs }); }
        finally { foreach (var f in frames) f.Image.Dispose(); }
    }

    private static void CheckLayer(AttentionStack stack, int layer)
    {
        if ((uint)layer >= (uint)stack.Layers)
            throw new AttnScopeException($"layer {layer} is out of range: the model has {stack.Layers} decoder layers (0..{stack.Layers - 1})");
    }

    private static float[] HeadMean(AttentionStack stack, int layer)
    {
        var mean = new float[stack.Queries * stack.Keys];
        for (int h = 0; h < stack.Heads; h++) System.Numerics.Tensors.TensorPrimitives.Add(mean, stack.Head(layer, h), mean);
        System.Numerics.Tensors.TensorPrimitives.Multiply(mean, 1f / stack.Heads, mean);
        return mean;
    }
}
