using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Views.Animation;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// Renders every view (head, heads, layers, model) as PNG, SVG or PDF, and animations over layers as GIF. All
/// views are laid out as an <see cref="IFigureLayout"/> and painted through the same panel painter.
/// </summary>
internal sealed class ViewRenderer
{
    private readonly FontSet? _fonts;
    private readonly FigureStyle _style;

    public ViewRenderer(FigureStyle? style = null, FontSet? fonts = null)
    {
        _style = style ?? FigureStyle.Default;
        _fonts = fonts;
    }

    private FontSet Fonts => _fonts ?? FontSet.Default;

    /// <summary>
    /// Readies what the first figure of a process needs and the capture does not: the native drawing library, the
    /// fonts (fontconfig's search), a canvas and the PNG encoder, by drawing and encoding a tiny figure. A command
    /// starts this on another thread while it reads its capture, so the two overlap; nothing it makes is kept but
    /// the process-wide font set.
    /// </summary>
    public static Task WarmUpAsync() => Task.Run(() =>
    {
        try
        {
            var fonts = FontSet.Default;
            using var bitmap = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Bgra8888, SKAlphaType.Premul));
            using var canvas = new SKCanvas(bitmap);
            canvas.Clear(FigureStyle.Default.Background);
            using (var fc = new SkiaFigureCanvas(canvas, fonts))
                fc.Text("0", 1, 6, 6, FigureStyle.Default.Text);
            canvas.Flush();
            using var pixmap = bitmap.PeekPixels();
            using var data = pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Up, 1));
        }
        catch (Exception)
        {
            // the real figure reports whatever failed here, with its own message
        }
    });

    public static ViewKind ParseView(string text) => text.Trim().ToLowerInvariant() switch
    {
        "head" => ViewKind.Head,
        "heads" => ViewKind.Heads,
        "layers" => ViewKind.Layers,
        "model" => ViewKind.Model,
        _ => throw new AttnScopeException($"unknown view '{text}' (expected head, heads, layers or model)"),
    };

    /// <summary>The output formats, by file extension.</summary>
    public static readonly string[] Extensions = [".png", ".svg", ".pdf", ".gif"];

    public IFigureLayout Layout(AttentionCapture capture, ViewKind view, HeatmapOptions options)
    {
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return view == ViewKind.Head
            ? new HeatmapRenderer(_style, _fonts).Layout(capture, options)
            : GridLayout.Compute(capture, view, options, Fonts, _style);
    }

    /// <summary>Draws a figure into a new bitmap (BGRA).</summary>
    public SKBitmap RenderBitmap(IFigureLayout layout, string colorMap)
    {
        var map = ColorMap.Get(colorMap);
        var bitmap = new SKBitmap(new SKImageInfo(layout.Width, layout.Height, SKColorType.Bgra8888, SKAlphaType.Premul));
        if (bitmap.GetPixels() == IntPtr.Zero)
        {
            bitmap.Dispose();
            throw new AttnScopeException($"cannot allocate a {layout.Width} × {layout.Height} image");
        }
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(_style.Background);
        using (var fc = new SkiaFigureCanvas(canvas, Fonts))
            layout.Paint(fc, map, Fonts, _style);
        canvas.Flush();
        return bitmap;
    }

    public byte[] RenderPng(IFigureLayout layout, string colorMap)
    {
        StartupTrace.Mark("laid out");
        using var bitmap = RenderBitmap(layout, colorMap);
        StartupTrace.Mark("painted");
        var png = EncodePng(bitmap);
        StartupTrace.Mark("encoded");
        return png;
    }

    /// <summary>Lossless PNG, encoded on every core (<see cref="PngWriter"/>).</summary>
    public byte[] EncodePng(SKBitmap bitmap) => PngWriter.Encode(bitmap);

    public string RenderSvg(IFigureLayout layout, string colorMap)
    {
        var canvas = new SvgFigureCanvas(layout.Width, layout.Height, _style.Background, Fonts.FamilyName)
        {
            CellRects = layout.CellBlocks <= SvgFigureCanvas.MaxCellRects,
        };
        layout.Paint(canvas, ColorMap.Get(colorMap), Fonts, _style);
        return canvas.Finish();
    }

    /// <summary>A one-page vector PDF (text as text, fonts embedded) through Skia's PDF backend.</summary>
    public byte[] RenderPdf(IFigureLayout layout, string colorMap)
    {
        using var ms = new MemoryStream();
        using (var stream = new SKManagedWStream(ms))
        {
            // Skia's PDF unit is the point (1/72 in): 96-dpi pixels are scaled to keep the physical size
            float dpi = 96f * layout.Scale;
            using var doc = SKDocument.CreatePdf(stream, new SKDocumentPdfMetadata { Creator = "AttnScope", RasterDpi = dpi })
                ?? throw new AttnScopeException("the PDF backend is not available");
            float k = 72f / dpi;
            var page = doc.BeginPage(layout.Width * k, layout.Height * k);
            page.Scale(k);
            page.Clear(_style.Background);
            using (var fc = new SkiaFigureCanvas(page, Fonts))
                layout.Paint(fc, ColorMap.Get(colorMap), Fonts, _style);
            doc.EndPage();
            doc.Close();
        }
        return ms.ToArray();
    }

    /// <summary>
    /// One frame per layer: the head view or the heads grid of each layer, with one colour scale over all layers
    /// (unless a fixed maximum is given) so that frames are comparable, and a caption "layer L of N".
    /// </summary>
    public List<AnimationFrame> LayerFrames(AttentionCapture capture, ViewKind view, HeatmapOptions options, int? delayMs = null)
    {
        if (view is not (ViewKind.Head or ViewKind.Heads))
            throw new AttnScopeException($"an animation over layers shows the head or heads view of each layer, not the {view.ToString().ToLowerInvariant()} view");
        options.Validate();
        var stack = capture.Stack(options.Stack);
        var map = ColorMap.Get(options.ColorMap);
        var o = options;
        if (o.ColorMax is null)
        {
            float lo = 0, hi = 0;
            var (queries, keys) = capture.AxisTokens(o.Stack);
            var sel = TokenSelection.For(queries, keys, o);
            for (int l = 0; l < stack.Layers; l++)
            {
                if (view == ViewKind.Head)
                {
                    var m = HeatmapMatrix.From(capture, o with { Layer = l }, sel);
                    lo = Math.Min(lo, m.MinValue); hi = Math.Max(hi, m.MaxValue);
                }
                else
                    for (int h = 0; h < stack.Heads; h++)
                    {
                        var m = HeatmapMatrix.From(capture, o with { Layer = l, Heads = HeadSelection.Single(h) }, sel);
                        lo = Math.Min(lo, m.MinValue); hi = Math.Max(hi, m.MaxValue);
                    }
            }
            float top = MathF.Max(hi, -lo);
            if (top > 0) o = o with { ColorMax = top };
        }
        var frames = new List<AnimationFrame>(stack.Layers);
        try
        {
            for (int l = 0; l < stack.Layers; l++)
            {
                var layout = Layout(capture, view, o with { Layer = l });
                frames.Add(new AnimationFrame(RenderBitmap(layout, o.ColorMap), $"layer {l} of {stack.Layers} (0–{stack.Layers - 1})", delayMs));
            }
            return frames;
        }
        catch
        {
            foreach (var f in frames) f.Image.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One frame per generation step of a decoder language model's capture (<see cref="GenerationInfo"/>): the head
    /// view or the heads grid of one layer with the rows (and key columns) computed so far, the rest blank, all frames
    /// of one size and colour scale, captioned like the viewer's player ("step 3: produced ' cat' (3/7)").
    /// </summary>
    public List<AnimationFrame> StepFrames(AttentionCapture capture, ViewKind view, HeatmapOptions options, int? delayMs = null)
    {
        if (view is not (ViewKind.Head or ViewKind.Heads))
            throw new AttnScopeException($"an animation over generation steps shows the head or heads view of one layer, not the {view.ToString().ToLowerInvariant()} view");
        options.Validate();
        var g = GenerationInfo.Of(capture) ?? throw new AttnScopeException(
            "the capture records no generation (no generation.prompt_tokens in its metadata): --animate steps needs a capture made by attnscope generate" +
            (capture.TargetTokens.Count > 0 ? "; a translation animates its decoding with attnscope translate --animate" : ""));
        if (options.Stack != AttentionStack.Decoder)
            throw new AttnScopeException($"generation steps are rows of the decoder stack, not of the {options.Stack} stack");
        var o = options;
        if (o.ColorMax is null)
        {
            // the colour scale of the whole layer, so that every step (and the last, which shows everything) compares
            var (queries, keys) = capture.AxisTokens(o.Stack);
            var sel = TokenSelection.For(queries, keys, o);
            var stack = capture.Stack(o.Stack);
            float hi = 0, lo = 0;
            for (int h = 0; h < (view == ViewKind.Head ? 1 : stack.Heads); h++)
            {
                var m = HeatmapMatrix.From(capture, view == ViewKind.Head ? o : o with { Heads = HeadSelection.Single(h) }, sel);
                lo = Math.Min(lo, m.MinValue); hi = Math.Max(hi, m.MaxValue);
            }
            float top = MathF.Max(hi, -lo);
            if (top > 0) o = o with { ColorMax = top };
        }
        var frames = new List<AnimationFrame>(g.Steps);
        try
        {
            for (int t = 0; t < g.Steps; t++)
            {
                int shown = g.Row(t) + 1;
                var layout = Layout(capture, view, o with { RevealRows = shown, RevealColumns = shown });
                frames.Add(new AnimationFrame(RenderBitmap(layout, o.ColorMap), $"{g.Caption(capture.Tokens, t)} ({t + 1}/{g.Steps})", delayMs));
            }
            return frames;
        }
        catch
        {
            foreach (var f in frames) f.Image.Dispose();
            throw;
        }
    }

    /// <summary>What an animation steps through: <c>layers</c> or <c>steps</c> (generation steps).</summary>
    public static AnimationKind ParseAnimation(string text) => text.Trim().ToLowerInvariant() switch
    {
        "layers" => AnimationKind.Layers,
        "steps" => AnimationKind.Steps,
        _ => throw new AttnScopeException($"--animate {text} is not supported: animations run over 'layers' or generation 'steps'"),
    };

    public byte[] RenderLayerAnimation(AttentionCapture capture, ViewKind view, HeatmapOptions options, AnimationOptions? animation = null)
    {
        var frames = LayerFrames(capture, view, options);
        try
        {
            return AnimationWriter.EncodeGif(frames, (animation ?? new AnimationOptions()) with { Scale = options.Scale }, Fonts);
        }
        finally
        {
            foreach (var f in frames) f.Image.Dispose();
        }
    }

    public byte[] RenderStepAnimation(AttentionCapture capture, ViewKind view, HeatmapOptions options, AnimationOptions? animation = null)
    {
        var frames = StepFrames(capture, view, options);
        try
        {
            return AnimationWriter.EncodeGif(frames, (animation ?? new AnimationOptions()) with { Scale = options.Scale }, Fonts);
        }
        finally
        {
            foreach (var f in frames) f.Image.Dispose();
        }
    }

    /// <summary>
    /// Renders a view and writes it atomically; the format follows the extension (.png, .svg, .pdf; .gif animates
    /// the view over layers). Nothing is written when rendering fails.
    /// </summary>
    public void Save(AttentionCapture capture, ViewKind view, HeatmapOptions options, string path, AnimationOptions? animation = null,
        AnimationKind animate = AnimationKind.Layers)
    {
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (!Extensions.Contains(ext))
            throw new AttnScopeException($"cannot tell the image format of '{path}': use a .png, .svg, .pdf or .gif (animation) file name");
        CheckWritable(path);
        byte[] bytes = ext switch
        {
            ".gif" when animate == AnimationKind.Steps => RenderStepAnimation(capture, view, options, animation),
            ".gif" => RenderLayerAnimation(capture, view, options, animation),
            ".svg" => new System.Text.UTF8Encoding(false).GetBytes(RenderSvg(Layout(capture, view, options), options.ColorMap)),
            ".pdf" => RenderPdf(Layout(capture, view, options), options.ColorMap),
            _ => RenderPng(Layout(capture, view, options), options.ColorMap),
        };
        AtomicFile.WriteAllBytes(path, bytes);
    }

    /// <summary>Fails before any rendering work when the output folder is missing or the path is a folder.</summary>
    public static void CheckWritable(string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir) && !Directory.Exists(dir))
            throw new AttnScopeException($"cannot write '{path}': the folder '{dir}' does not exist");
        if (Directory.Exists(full)) throw new AttnScopeException($"cannot write '{path}': it is a folder");
    }
}
