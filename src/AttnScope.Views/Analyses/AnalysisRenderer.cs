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
public sealed class AnalysisRenderer
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
        if (o.ColorMax is null)
        {
            float top = 0;
            for (int i = 0; i < r.Steps; i++) top = MathF.Max(top, AnalysisHeatmaps.RolloutMatrix(capture, r, i, o).MaxValue);
            if (top > 0) o = o with { ColorMax = top };
        }
        var frames = new List<AnimationFrame>(r.Steps);
        try
        {
            for (int i = 0; i < r.Steps; i++)
            {
                var layout = AnalysisHeatmaps.Rollout(capture, r, i, o, Fonts, _style);
                frames.Add(new AnimationFrame(_views.RenderBitmap(layout, o.ColorMap), $"after layer {r.StartLayer + i}", delayMs));
            }
            return frames;
        }
        catch
        {
            foreach (var f in frames) f.Image.Dispose();
            throw;
        }
    }

    public byte[] RenderRolloutAnimation(AttentionCapture capture, HeatmapOptions o, AnimationOptions? animation = null)
    {
        var frames = RolloutFrames(capture, o);
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
        if (ext == ".gif" && view != AnalysisView.Rollout)
            throw new AttnScopeException($"the {view.Name()} view has no animation: only the rollout animates (over its layers)");
        ViewRenderer.CheckWritable(path);
        byte[] bytes = ext switch
        {
            ".gif" => RenderRolloutAnimation(capture, o, animation),
            ".svg" => new System.Text.UTF8Encoding(false).GetBytes(_views.RenderSvg(Layout(capture, view, o, layer), o.ColorMap)),
            ".pdf" => _views.RenderPdf(Layout(capture, view, o, layer), o.ColorMap),
            _ => _views.RenderPng(Layout(capture, view, o, layer), o.ColorMap),
        };
        AtomicFile.WriteAllBytes(path, bytes);
    }
}
