using System.Globalization;
using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Capture.Io;
using AttnScope.Sources.Vision;
using AttnScope.Views.Static;
using SkiaSharp;

namespace AttnScope.Views.Vision;

/// <summary>
/// A CLIP capture's words → patches figure: on the left the text tokens, each on a box coloured by its relevance for
/// the image–text similarity (the text tower's EOS row); on the right the image with the patch relevance (the vision
/// tower's [CLS] row) and, per word, the patches that make the image similar to that word alone. Everything comes from
/// the capture's analyses (<see cref="ClipCapture"/>); token text is drawn as text, never markup.
/// </summary>
internal static class ClipRenderer
{
    private const int Margin = 12, Font = 14, TextWidth = 300;

    /// <summary>Whether the capture holds CLIP's relevance analyses.</summary>
    public static bool IsClip(AttentionCapture capture) => capture.Analysis(ClipCapture.TextRelevance) is not null && capture.Analysis(ClipCapture.ImageRelevance) is not null;

    /// <param name="word">A word token (its index among the text tokens) whose map alone is drawn; null: every word's.</param>
    public static byte[] RenderPng(AttentionCapture capture, int? word = null, string colorMap = "magma")
    {
        ArgumentNullException.ThrowIfNull(capture);
        if (!IsClip(capture)) throw new AttnScopeException("the capture is not a CLIP image–text capture (capture one with --image and --text on a CLIP model)");
        var layout = VisionLayout.Require(capture);
        var tokens = capture.TargetTokens;
        var textRel = capture.Analysis(ClipCapture.TextRelevance)!.Tensor;
        var imgRel = capture.Analysis(ClipCapture.ImageRelevance)!.Tensor;
        if (textRel.Data.Length != tokens.Count) throw new AttnScopeException($"'{ClipCapture.TextRelevance}' has {textRel.Data.Length} values for {tokens.Count} text tokens");
        if (imgRel.Data.Length != layout.Patches) throw new AttnScopeException($"'{ClipCapture.ImageRelevance}' has {imgRel.Data.Length} values for {layout.Patches} patches");
        string sim = capture.Metadata.Extra.GetValueOrDefault("clip.similarity", "?");
        if (double.TryParse(sim, NumberStyles.Float, CultureInfo.InvariantCulture, out var s)) sim = s.ToString("F3", CultureInfo.InvariantCulture);

        var maps = new List<PatchMap> { new(imgRel.Data, layout.GridRows, layout.GridCols, "whole text: patch relevance") };
        if (capture.Analysis(ClipCapture.WordRelevance) is { } wr)
        {
            var idx = wr.Info["tokens"]?.AsArray().Select(n => (int)n!).ToArray() ?? [];
            var sims = wr.Info["similarity"]?.AsArray().Select(n => (double)n!).ToArray() ?? [];
            int per = layout.Patches;
            if (wr.Tensor.Data.Length != idx.Length * per) throw new AttnScopeException($"'{ClipCapture.WordRelevance}' does not hold one map per listed word");
            if (word is { } wsel && !idx.Contains(wsel))
                throw new AttnScopeException($"--word {wsel} is not a word token (words: {string.Join(", ", idx.Select(i => $"{i} '{TokenText.Printable(tokens[i].Text)}'"))})");
            for (int k = 0; k < idx.Length; k++)
            {
                if (word is { } only && idx[k] != only) continue;
                string st = k < sims.Length ? sims[k].ToString("F2", CultureInfo.InvariantCulture) : "?";
                maps.Add(new PatchMap(wr.Tensor.Data.AsSpan(k * per, per).ToArray(), layout.GridRows, layout.GridCols, $"'{tokens[idx[k]].Text}' alone (sim {st})"));
            }
        }
        var fonts = FontSet.Default;
        var cmap = ColorMap.Get(colorMap);
        using var panels = ImageOverlayRenderer.Render(layout.Image, maps, null, new OverlayOptions { ColorMap = colorMap, Columns = Math.Min(maps.Count, 4), PanelSize = 224 });
        float line = fonts.LineHeightRatio * Font;
        // Lay the tokens out in the text column, wrapping.
        var boxes = new List<(SKRect Box, int Token)>();
        float x = Margin, y = 0, pad = 5;
        for (int i = 0; i < tokens.Count; i++)
        {
            var t = TokenText.Printable(tokens[i].Text);
            t = fonts.Fit(t, Font, TextWidth - 2 * pad);
            float tw = fonts.Measure(t, Font) + 2 * pad;
            if (x + tw > Margin + TextWidth && x > Margin) { x = Margin; y += line + 2 * pad + 4; }
            boxes.Add((new SKRect(x, y, x + tw, y + line + 2 * pad), i));
            x += tw + 4;
        }
        float textH = y + line + 2 * pad;
        float titleH = line * 3 + Margin;
        int w = (int)(Margin + TextWidth + Margin + panels.Width);
        int h = (int)Math.Max(titleH + Margin + textH + 6 * line + Margin, titleH + panels.Height);
        if ((long)w * h > 64L << 20) throw new AttnScopeException($"the figure would be {w}×{h} pixels");
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Bgra8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bmp))
        using (var fc = new SkiaFigureCanvas(canvas, fonts))
        {
            canvas.Clear(SKColors.White);
            fc.Text(fonts.Fit($"CLIP image–text similarity {sim}: words → patches", Font + 2, w - 2 * Margin, bold: true), Margin, Margin + fonts.AscentRatio * (Font + 2), Font + 2, SKColors.Black, TextAnchor.Start, bold: true);
            fc.Text(fonts.Fit("gradient relevance (Chefer et al. 2021) of the similarity, each tower on its own", Font - 1, w - 2 * Margin), Margin, Margin + line + fonts.AscentRatio * Font, Font - 1, new SKColor(80, 80, 80));
            float top = titleH + Margin;
            fc.Text("text tokens (relevance at the end token)", Margin, titleH - 2, Font - 2, new SKColor(80, 80, 80));
            float max = 0;
            foreach (var v in textRel.Data) max = MathF.Max(max, v);
            // The end token keeps R's identity 1 (its own row): the colours scale over the other tokens so they stay readable.
            int eos = int.TryParse(capture.Metadata.Extra.GetValueOrDefault("clip.eos_index", "-1"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var e) ? e : -1;
            float maxOthers = 0;
            for (int i = 0; i < textRel.Data.Length; i++) if (i != eos) maxOthers = MathF.Max(maxOthers, textRel.Data[i]);
            using var border = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = 1, Color = new SKColor(160, 160, 160) };
            foreach (var (box, i) in boxes)
            {
                var r = new SKRect(box.Left, box.Top + top + 4, box.Right, box.Bottom + top + 4);
                float t = i == eos ? 1f : maxOthers > 0 ? Math.Clamp(textRel.Data[i] / maxOthers, 0, 1) : 0;
                var c = tokens[i].IsSpecial && i != eos ? SKColors.White : cmap.Map(t);
                fc.FillRect(r, c);
                canvas.DrawRect(r, border);
                float lum = 0.299f * c.Red + 0.587f * c.Green + 0.114f * c.Blue;
                fc.Text(fonts.Fit(TokenText.Printable(tokens[i].Text), Font, r.Width - 2 * pad), r.Left + pad, r.Top + pad + fonts.AscentRatio * Font, Font, lum < 128 ? SKColors.White : SKColors.Black);
            }
            float ly = top + textH + 8 + line;
            fc.Text(fonts.Fit($"colour: relevance / largest of the words ({maxOthers:G3});", Font - 2, TextWidth), Margin, ly, Font - 2, new SKColor(80, 80, 80));
            fc.Text(fonts.Fit($"the end token is pooled: its own 1 + {Math.Max(0, (eos >= 0 ? textRel.Data[eos] : max) - 1):G3}", Font - 2, TextWidth), Margin, ly + line, Font - 2, new SKColor(80, 80, 80));
            fc.Text(fonts.Fit("right: the patches for the whole text;", Font - 2, TextWidth), Margin, ly + 2 * line, Font - 2, new SKColor(80, 80, 80));
            fc.Text(fonts.Fit("'w' alone: the image against the text of w only", Font - 2, TextWidth), Margin, ly + 3 * line, Font - 2, new SKColor(80, 80, 80));
            canvas.DrawBitmap(panels, Margin + TextWidth + Margin, titleH);
            canvas.Flush();
        }
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static void SavePng(string path, AttentionCapture capture, int? word = null, string colorMap = "magma") =>
        AtomicFile.WriteAllBytes(path, RenderPng(capture, word, colorMap));
}
