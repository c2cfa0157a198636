using System.Globalization;
using AttnScope.Analyses.Speech;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Sources.Audio;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Speech;

/// <summary>How speech views are drawn.</summary>
internal sealed record SpeechViewOptions
{
    /// <summary>Pixels per second of audio on the time axis.</summary>
    public float PixelsPerSecond { get; init; } = 200;
    /// <summary>Show the whole window the model read (Whisper pads to 30 s) instead of the audio only.</summary>
    public bool FullWindow { get; init; }
    /// <summary>Cross-attention of one layer (all its heads, or <see cref="Head"/>), or null for the alignment heads' mean.</summary>
    public int? Layer { get; init; }
    public int? Head { get; init; }
    public string ColorMap { get; init; } = "magma";
}

/// <summary>
/// Speech views over the log-mel spectrogram, all on one time axis in seconds: <c>cross</c> draws the cross-attention
/// of each produced token (one strip per token, the step that produced it, each strip scaled to its own maximum) under
/// the spectrogram; <c>align</c> draws the words placed by <see cref="WordAlignment"/> over the spectrogram and, under
/// it, the matrix DTW ran on with its monotone path.
/// </summary>
internal static class SpeechRenderer
{
    private const int Margin = 10, LabelWidth = 130, MelHeight = 160, RowHeight = 16, AxisHeight = 34, TitleSize = 13, Small = 11;

    public static void SavePng(string path, SKBitmap bmp)
    {
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        AtomicFile.WriteAllBytes(path, data.ToArray());
    }

    private static (int Frames, double Seconds) Span(AttentionCapture cap, SpeechLayout layout, SpeechViewOptions o)
    {
        int encFrames = cap.Tokens.Count;
        int frames = o.FullWindow ? encFrames : layout.AudioFrames(encFrames);
        return (frames, frames * SpeechLayout.FrameSeconds);
    }

    /// <summary>Cross-attention of every produced token over the encoder frames, under the spectrogram.</summary>
    public static SKBitmap RenderCross(AttentionCapture cap, SpeechViewOptions? options = null)
    {
        var o = options ?? new SpeechViewOptions();
        var layout = SpeechLayout.Require(cap);
        var cross = cap.Stack(AttentionStack.Cross);
        var (frames, seconds) = Span(cap, layout, o);
        var heads = HeadsOf(cross, layout, o);
        int P = layout.PromptLength, n = cap.TargetTokens.Count;
        // Produced token j came from the step that fed token j − 1.
        var produced = Enumerable.Range(P, n - P).ToList();
        if (produced.Count == 0) throw new AttnScopeException("the capture has no produced tokens to draw");
        var rows = new List<(string Label, float[] Values)>();
        foreach (int j in produced)
        {
            var v = new float[frames];
            foreach (var (l, h) in heads)
            {
                long at = (((long)l * cross.Heads + h) * n + j - 1) * cross.Keys;
                for (int f = 0; f < frames; f++) v[f] += cross.Attention.Data[at + f] / heads.Count;
            }
            rows.Add((cap.TargetTokens[j].Text, v));
        }
        string who = o.Layer is int L ? (o.Head is int H ? $"layer {L}, head {H}" : $"layer {L}, mean of its heads") : HeadsText(layout, heads);
        string title = $"cross-attention of each produced token over the audio ({who}); transcript: {layout.Transcript}";
        return Draw(layout, frames, seconds, o, title, rows, overlay: null, words: null);
    }

    /// <summary>Words placed in time from cross-attention (Whisper's DTW heuristic), and the matrix with the path.</summary>
    public static SKBitmap RenderAlign(AttentionCapture cap, SpeechAlignment alignment, SpeechViewOptions? options = null)
    {
        var o = options ?? new SpeechViewOptions();
        var layout = SpeechLayout.Require(cap);
        var (frames, seconds) = Span(cap, layout, o);
        int R = alignment.Matrix.GetLength(0), F = alignment.Matrix.GetLength(1);
        var rows = new List<(string, float[])>();
        for (int r = 0; r < R; r++)
        {
            var v = new float[frames];
            for (int f = 0; f < Math.Min(F, frames); f++) v[f] = alignment.Matrix[r, f];
            int predicted = alignment.FirstRow + r + 1;
            string label = predicted < cap.TargetTokens.Count ? cap.TargetTokens[predicted].Text : "(end)";
            rows.Add((label, v));
        }
        string title = $"word alignment: DTW over {HeadsText(layout, alignment.Heads)} (z-scored per frame, median 7){(alignment.Speech is null ? ", raw timing" : " + timing heuristics")}; 1 frame = 20 ms";
        return Draw(layout, frames, seconds, o, title, rows, alignment.Path, alignment.Words);
    }

    private static List<(int Layer, int Head)> HeadsOf(AttentionStack cross, SpeechLayout layout, SpeechViewOptions o)
    {
        if (o.Layer is int l)
        {
            if (l < 0 || l >= cross.Layers) throw new AttnScopeException($"--layer {l} is not one of the decoder's {cross.Layers} layers (0…{cross.Layers - 1})");
            if (o.Head is int h)
            {
                if (h < 0 || h >= cross.Heads) throw new AttnScopeException($"--head {h} is not one of the {cross.Heads} heads (0…{cross.Heads - 1})");
                return [(l, h)];
            }
            return Enumerable.Range(0, cross.Heads).Select(h2 => (l, h2)).ToList();
        }
        if (o.Head is not null) throw new AttnScopeException("--head needs --layer");
        return [.. layout.AlignmentHeads ?? WordAlignment.DefaultHeads(cross.Layers, cross.Heads)];
    }

    private static string HeadsText(SpeechLayout layout, IReadOnlyList<(int Layer, int Head)> heads) =>
        layout.AlignmentHeads is not null ? $"the model's {heads.Count} alignment heads" : $"the {heads.Count} heads of the upper half of the decoder";

    private static SKBitmap Draw(SpeechLayout layout, int frames, double seconds, SpeechViewOptions o, string title,
        List<(string Label, float[] Values)> rows, IReadOnlyList<(int Row, int Frame)>? overlay, IReadOnlyList<AlignedWord>? words)
    {
        if (!(o.PixelsPerSecond is >= 10 and <= 2000)) throw new AttnScopeException($"{o.PixelsPerSecond} pixels per second is out of range (10…2000)");
        var fonts = FontSet.Default;
        var cmap = ColorMap.Get(o.ColorMap);
        int plotW = Math.Max(480, (int)Math.Ceiling(seconds * o.PixelsPerSecond));
        int width = Margin + LabelWidth + plotW + Margin;
        var titleLines = Wrap(fonts, TokenText.Printable(title), TitleSize + 1, width - 2 * Margin, maxLines: 3);
        float lineH = fonts.LineHeightRatio * (TitleSize + 1);
        int titleH = (int)(lineH * titleLines.Count) + Margin;
        int wordsH = words is null ? 0 : 2 * RowHeight + 4;
        int rowsH = rows.Count * RowHeight;
        int w = width;
        int h = titleH + Margin + wordsH + MelHeight + 6 + rowsH + AxisHeight + Margin;
        if ((long)w * h > 64L << 20) throw new AttnScopeException($"the figure would be {w}×{h} pixels; lower --pixels-per-second");
        var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Bgra8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bmp);
        canvas.Clear(SKColors.White);
        using var fc = new SkiaFigureCanvas(canvas, fonts);
        for (int i = 0; i < titleLines.Count; i++)
            fc.Text(titleLines[i], Margin, Margin + fonts.AscentRatio * (TitleSize + 1) + i * lineH, TitleSize + 1, SKColors.Black, TextAnchor.Start, bold: true);
        float x0 = Margin + LabelWidth;
        float y = titleH + Margin;
        float X(double sec) => x0 + (float)(sec / seconds * plotW);
        // Words above the spectrogram, on two alternating lines so neighbours do not overlap.
        if (words is not null)
        {
            for (int i = 0; i < words.Count; i++)
            {
                var wd = words[i];
                float a = X(Math.Min(wd.Start, seconds)), b = X(Math.Min(wd.End, seconds));
                float line = y + (i % 2) * RowHeight + fonts.AscentRatio * Small + 1;
                string label = fonts.Fit(TokenText.Printable(wd.Text), Small, Math.Max(40, b - a + 30));
                fc.Text(label, a + 2, line, Small, SKColors.Black, TextAnchor.Start);
            }
            fc.Text("words", x0 - 6, y + fonts.AscentRatio * Small + 1, Small, SKColors.DimGray, TextAnchor.End);
            y += wordsH;
        }
        // Spectrogram: mel frames of the span, low frequencies at the bottom, scaled over its own range.
        int melFrames = Math.Min(layout.MelFrames, 2 * frames);
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        for (int m = 0; m < layout.MelBins; m++) for (int t = 0; t < melFrames; t++) { float v = layout.Mel.Data[m * layout.MelFrames + t]; lo = MathF.Min(lo, v); hi = MathF.Max(hi, v); }
        using (var img = new SKBitmap(melFrames, layout.MelBins))
        {
            for (int m = 0; m < layout.MelBins; m++)
                for (int t = 0; t < melFrames; t++)
                {
                    float v = layout.Mel.Data[m * layout.MelFrames + t];
                    img.SetPixel(t, layout.MelBins - 1 - m, cmap.Map(hi > lo ? (v - lo) / (hi - lo) : 0));
                }
            using var paint = new SKPaint { IsAntialias = false };
            using var image = SKImage.FromBitmap(img);
            canvas.DrawImage(image, new SKRect(0, 0, melFrames, layout.MelBins), new SKRect(x0, y, x0 + plotW, y + MelHeight), new SKSamplingOptions(SKFilterMode.Nearest), paint);
        }
        fc.Text("log-mel", x0 - 6, y + MelHeight / 2f, Small, SKColors.Black, TextAnchor.End);
        fc.Text($"{layout.MelBins} bands", x0 - 6, y + MelHeight / 2f + Small + 3, Small, SKColors.DimGray, TextAnchor.End);
        if (words is not null)
            foreach (var wd in words)
            {
                float a = X(Math.Min(wd.Start, seconds));
                fc.Line(a, y - wordsH, a, y + MelHeight, new SKColor(0, 200, 255), 1.5f);
            }
        float melTop = y;
        y += MelHeight + 6;
        // One strip per row, each scaled to its own range.
        float rowsTop = y;
        for (int r = 0; r < rows.Count; r++)
        {
            var (label, v) = rows[r];
            float mn = v.Min(), mx = v.Max();
            for (int f = 0; f < frames; f++)
            {
                float t = mx > mn ? (v[f] - mn) / (mx - mn) : 0;
                fc.FillRect(new SKRect(X(f * SpeechLayout.FrameSeconds), y, X((f + 1) * SpeechLayout.FrameSeconds) + 0.5f, y + RowHeight - 1), cmap.Map(t));
            }
            string text = label.Length == 0 ? "·" : TokenText.Printable(label);
            fc.Text(fonts.Fit(text, Small, LabelWidth - 10), x0 - 6, y + RowHeight / 2f + fonts.AscentRatio * Small / 2 - 1, Small, SKColors.Black, TextAnchor.End);
            y += RowHeight;
        }
        if (overlay is not null)
        {
            (float, float) P((int Row, int Frame) p) => (X((p.Frame + 0.5) * SpeechLayout.FrameSeconds), rowsTop + p.Row * RowHeight + RowHeight / 2f);
            for (int i = 1; i < overlay.Count; i++)
            {
                if (overlay[i].Frame >= frames) break;
                var (ax, ay) = P(overlay[i - 1]);
                var (bx, by) = P(overlay[i]);
                fc.Line(ax, ay, bx, by, new SKColor(0, 200, 255), 2f);
            }
        }
        // Time axis in seconds.
        double step = NiceStep(seconds, plotW);
        fc.Line(x0, y + 1, x0 + plotW, y + 1, SKColors.Black, 1);
        for (double s = 0; s <= seconds + 1e-9; s += step)
        {
            float x = X(s);
            fc.Line(x, y + 1, x, y + 6, SKColors.Black, 1);
            fc.Line(x, melTop, x, y, new SKColor(255, 255, 255, 60), 1);
            fc.Text(s.ToString(step < 1 ? "0.0#" : "0", CultureInfo.InvariantCulture), x, y + 8 + fonts.AscentRatio * Small, Small, SKColors.Black, TextAnchor.Middle);
        }
        fc.Text("time (s)", x0 + plotW / 2f, y + 10 + fonts.AscentRatio * Small + Small + 2, Small, SKColors.DimGray, TextAnchor.Middle);
        return bmp;
    }

    private static List<string> Wrap(FontSet fonts, string text, float size, float maxWidth, int maxLines)
    {
        var lines = new List<string>();
        var current = "";
        foreach (var word in text.Split(' '))
        {
            var next = current.Length == 0 ? word : current + " " + word;
            if (current.Length > 0 && fonts.Measure(next, size, bold: true) > maxWidth)
            {
                lines.Add(current);
                current = word;
            }
            else current = next;
        }
        lines.Add(current);
        if (lines.Count > maxLines)
        {
            lines = lines.Take(maxLines).ToList();
            lines[^1] += " …";
        }
        return lines.Select(l => fonts.Fit(l, size, maxWidth, bold: true)).ToList();
    }

    private static double NiceStep(double seconds, int pixels)
    {
        double target = seconds / Math.Max(1, pixels / 70.0);
        foreach (var s in new[] { 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60 }) if (s >= target) return s;
        return 60;
    }
}
