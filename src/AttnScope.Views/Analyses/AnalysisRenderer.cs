using AttnScope.Analyses.Results;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Views.Animation;
using AttnScope.Views.Static;

namespace AttnScope.Views.Analyses;

/// <summary>
/// Draws the analyses kept in a capture (rollout, flow, saliency, head roles, norm-based attention) as PNG, SVG or
/// PDF through <see cref="ViewRenderer"/>, and the rollout as a GIF over its layers. A view of an analysis the
/// capture does not hold is a user error that says to run <c>attnscope analyze</c>.
/// </summary>
internal sealed class AnalysisRenderer
{
    private readonly ViewRenderer _views;
    private readonly FontSet? _fonts;
    private readonly FigureStyle _style;

    public AnalysisRenderer(FigureStyle? style = null, FontSet? fonts = null)
    {
        _style = style ?? FigureStyle.Default;
        _fonts = fonts;
        _views = new ViewRenderer(style, fonts);
    }

    private FontSet Fonts => _fonts ?? FontSet.Default;

    public ViewRenderer Views => _views;

    /// <param name="layer">Rollout: the layer after which the joint attention is shown (default: the last). Norm views: <see cref="HeatmapOptions.Layer"/>.</param>
    public IFigureLayout Layout(AttentionCapture capture, AnalysisView view, HeatmapOptions o, int? layer = null)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(o);
        o.Validate();
        if (view.PerStack()) capture.Stack(o.Stack); // a stack the capture lacks is named as such
        switch (view)
        {
            case AnalysisView.Rollout:
            {
                var r = Rollout(capture, o.Stack);
                return AnalysisHeatmaps.Rollout(capture, r, AnalysisHeatmaps.RolloutStep(r, layer), o, Fonts, _style);
            }
            case AnalysisView.Flow:
                return AnalysisHeatmaps.Flow(capture, AnalysisLookup.Require(capture, FlowResult.From(capture, o.Stack), "attention flow", o.Stack, "--flow"), o, Fonts, _style);
            case AnalysisView.Saliency:
                return SaliencyTextLayout.Compute(capture, Saliency(capture), o, Fonts, _style);
            case AnalysisView.SaliencyBars:
                return SaliencyBarsLayout.Compute(capture, Saliency(capture), o, Fonts, _style);
            case AnalysisView.Roles:
                return RoleMapLayout.Compute(capture, AnalysisLookup.Require(capture, HeadStatsResult.From(capture, o.Stack), "head statistics", o.Stack, "--heads"), o, Fonts, _style);
            case AnalysisView.Norm:
                return AnalysisHeatmaps.Norm(capture, Norm(capture, o.Stack), o, Fonts, _style);
            case AnalysisView.Sinks:
                return SinkMapLayout.Compute(capture, AttnScope.Analyses.Heads.SinkStatistics.Compute(capture, o.Stack), o, Fonts, _style);
            case AnalysisView.NormHeads:
                return AnalysisHeatmaps.NormHeads(capture, Norm(capture, o.Stack), o, Fonts, _style);
            default:
                throw new ArgumentOutOfRangeException(nameof(view));
        }
    }

    private static RolloutResult Rollout(AttentionCapture capture, string stack) =>
        AnalysisLookup.Require(capture, RolloutResult.From(capture, stack), "attention rollout", stack, "--rollout");

    private static NormAttentionResult Norm(AttentionCapture capture, string stack) =>
        AnalysisLookup.Require(capture, NormAttentionResult.From(capture, stack), "norm-based attention", stack, "--norm");

    private static SaliencyResult Saliency(AttentionCapture capture) =>
        AnalysisLookup.Require(capture, SaliencyResult.From(capture), "token saliency", null, "--relevance --compare TEXT (or --target N for a translation model)");

    /// <summary>
    /// One frame per rollout step, captioned "after layer k", all on one colour scale (the largest value of any
    /// step, unless a maximum is given) so that frames compare.
    /// </summary>
    public List<AnimationFrame> RolloutFrames(AttentionCapture capture, HeatmapOptions o, int? delayMs = null)
    {
        o.Validate();
        var r = Rollout(capture, o.Stack);
        float top = 0;
        if (o.ColorMax is null)
            for (int i = 0; i < r.Steps; i++) top = MathF.Max(top, AnalysisHeatmaps.RolloutMatrix(capture, r, i, o).MaxValue);
        return Frames(r.Steps, top, o, (i, oi) => AnalysisHeatmaps.Rollout(capture, r, i, oi, Fonts, _style), i => $"after layer {r.StartLayer + i}", delayMs);
    }

    /// <summary>One frame per layer of flow (<c>analyze --flow-layers</c>): the flow from that layer's output, on one colour scale.</summary>
    public List<AnimationFrame> FlowFrames(AttentionCapture capture, HeatmapOptions o, int? delayMs = null)
    {
        o.Validate();
        var f = AnalysisLookup.Require(capture, FlowLayersResult.From(capture, o.Stack), "attention flow from every layer", o.Stack, "--flow-layers");
        int nn = f.Flows.Shape[1] * f.Flows.Shape[2];
        FlowResult Frame(int i)
        {
            var t = new FloatTensor([f.Flows.Shape[1], f.Flows.Shape[2]], f.Flows.Data.AsSpan(i * nn, nn).ToArray());
            return new FlowResult(f.Stack, i + 1, t, t, f.Rows);
        }
        float top = o.ColorMax is null ? f.Flows.Data.Max() : 0;
        return Frames(f.Steps, top, o, (i, oi) => AnalysisHeatmaps.Flow(capture, Frame(i), oi, Fonts, _style), i => $"from layer {i}", delayMs);
    }

    /// <summary>Frames on one colour scale (<paramref name="max"/>, unless the options fix one); disposed if any fails.</summary>
    private List<AnimationFrame> Frames(int count, float max, HeatmapOptions o, Func<int, HeatmapOptions, IFigureLayout> layout,
        Func<int, string> caption, int? delayMs)
    {
        if (o.ColorMax is null && max > 0) o = o with { ColorMax = max };
        var frames = new List<AnimationFrame>(count);
        try
        {
            for (int i = 0; i < count; i++)
                frames.Add(new AnimationFrame(_views.RenderBitmap(layout(i, o), o.ColorMap), caption(i), delayMs));
            return frames;
        }
        catch
        {
            foreach (var f in frames) f.Image.Dispose();
            throw;
        }
    }

    public byte[] RenderRolloutAnimation(AttentionCapture capture, HeatmapOptions o, AnimationOptions? animation = null) =>
        Encode(RolloutFrames(capture, o), o, animation);

    public byte[] RenderFlowAnimation(AttentionCapture capture, HeatmapOptions o, AnimationOptions? animation = null) =>
        Encode(FlowFrames(capture, o), o, animation);

    private byte[] Encode(List<AnimationFrame> frames, HeatmapOptions o, AnimationOptions? animation)
    {
        try
        {
            return AnimationWriter.EncodeGif(frames, (animation ?? new AnimationOptions()) with { Scale = o.Scale }, Fonts);
        }
        finally
        {
            foreach (var f in frames) f.Image.Dispose();
        }
    }

    /// <summary>
    /// Renders a view and writes it atomically; the format follows the extension (.png, .svg, .pdf; .gif animates the
    /// rollout over its layers). Nothing is written when rendering fails.
    /// </summary>
    public void Save(AttentionCapture capture, AnalysisView view, HeatmapOptions o, string path, int? layer = null, AnimationOptions? animation = null)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (!ViewRenderer.Extensions.Contains(ext))
            throw new AttnScopeException($"cannot tell the image format of '{path}': use a .png, .svg, .pdf or .gif (animation) file name");
        if (ext == ".gif" && view is not (AnalysisView.Rollout or AnalysisView.Flow))
            throw new AttnScopeException($"the {view.Name()} view has no animation: rollout and flow animate (over their layers)");
        ViewRenderer.CheckWritable(path);
        byte[] bytes = ext switch
        {
            ".gif" => view == AnalysisView.Flow ? RenderFlowAnimation(capture, o, animation) : RenderRolloutAnimation(capture, o, animation),
            ".svg" => new System.Text.UTF8Encoding(false).GetBytes(_views.RenderSvg(Layout(capture, view, o, layer), o.ColorMap)),
            ".pdf" => _views.RenderPdf(Layout(capture, view, o, layer), o.ColorMap),
            _ => _views.RenderPng(Layout(capture, view, o, layer), o.ColorMap),
        };
        AtomicFile.WriteAllBytes(path, bytes);
    }
}
