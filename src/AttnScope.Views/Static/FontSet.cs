using System.Text;
using AttnScope.Capture;
using SkiaSharp;

namespace AttnScope.Views.Static;

/// <summary>
/// The fonts figures draw with: a primary sans-serif family found through the system font manager (fontconfig on
/// Linux), plus per-character fallback typefaces (SKFontManager.MatchCharacter) for scripts the primary lacks
/// (CJK, ...). Text is measured and drawn as runs of one typeface each.
/// </summary>
internal sealed class FontSet
{
    /// <summary>Families tried in order for the primary font.</summary>
    public static readonly string[] PreferredFamilies =
        ["DejaVu Sans", "Noto Sans", "Liberation Sans", "Arial", "Helvetica", "Segoe UI", "Roboto", "FreeSans"];

    public const string MissingFontMessage =
        "no usable font was found to draw labels; install one, e.g. 'apt-get install fonts-dejavu-core' " +
        "(Debian/Ubuntu; fontconfig, package libfontconfig1, must be installed too)";

    private static readonly Lazy<FontSet> Shared = new(() => new FontSet(), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The process-wide font set (found once).</summary>
    public static FontSet Default => Shared.Value;

    private readonly SKFontManager _manager;
    private readonly Dictionary<(int Cp, bool Bold), SKTypeface> _fallback = new();
    private readonly object _lock = new();

    public SKTypeface Regular { get; }
    public SKTypeface Bold { get; }
    public string FamilyName => Regular.FamilyName;
    /// <summary>Ascent (positive, above the baseline) per pixel of font size.</summary>
    public float AscentRatio { get; }
    /// <summary>Descent (positive, below the baseline) per pixel of font size.</summary>
    public float DescentRatio { get; }
    /// <summary>Line height (ascent + descent) per pixel of font size.</summary>
    public float LineHeightRatio => AscentRatio + DescentRatio;

    private FontSet()
    {
        try
        {
            _manager = SKFontManager.Default;
            Regular = FindPrimary(SKFontStyle.Normal) ?? throw new AttnScopeException(MissingFontMessage);
            Bold = _manager.MatchFamily(Regular.FamilyName, SKFontStyle.Bold) ?? Regular;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException)
        {
            throw new AttnScopeException(
                "the drawing library (SkiaSharp) could not load; install fontconfig and a font, e.g. " +
                "'apt-get install libfontconfig1 fonts-dejavu-core' (" + e.GetBaseException().Message + ")", e);
        }
        using var font = new SKFont(Regular, 100f);
        var m = font.Metrics;
        AscentRatio = -m.Ascent / 100f;
        DescentRatio = m.Descent / 100f;
        if (!(AscentRatio > 0) || !(DescentRatio >= 0)) { AscentRatio = 0.93f; DescentRatio = 0.24f; }
    }

    private SKTypeface? FindPrimary(SKFontStyle style)
    {
        if (_manager.FontFamilyCount == 0) return null;
        foreach (var family in PreferredFamilies)
        {
            var tf = _manager.MatchFamily(family, style);
            if (tf is not null && Usable(tf)) return tf;
        }
        var any = _manager.MatchCharacter('A');
        if (any is not null && Usable(any)) return any;
        foreach (var family in _manager.FontFamilies)
        {
            var tf = _manager.MatchFamily(family, style);
            if (tf is not null && Usable(tf)) return tf;
        }
        return null;
    }

    private static bool Usable(SKTypeface tf) => tf.ContainsGlyphs("Aa0");

    /// <summary>Splits text into runs that one typeface can draw (combining marks stay with their base letter).</summary>
    public IReadOnlyList<(string Text, SKTypeface Typeface)> Runs(string text, bool bold = false)
    {
        var primary = bold ? Bold : Regular;
        var runs = new List<(string, SKTypeface)>();
        var sb = new StringBuilder();
        SKTypeface? current = null;
        foreach (var rune in text.EnumerateRunes())
        {
            SKTypeface tf;
            var cat = Rune.GetUnicodeCategory(rune);
            if (current is not null && cat is System.Globalization.UnicodeCategory.NonSpacingMark
                    or System.Globalization.UnicodeCategory.EnclosingMark)
                tf = current;
            else
                tf = TypefaceFor(rune.Value, bold, primary);
            if (!ReferenceEquals(tf, current) && sb.Length > 0)
            {
                runs.Add((sb.ToString(), current!));
                sb.Clear();
            }
            current = tf;
            sb.Append(rune.ToString());
        }
        if (sb.Length > 0) runs.Add((sb.ToString(), current!));
        return runs;
    }

    private SKTypeface TypefaceFor(int codepoint, bool bold, SKTypeface primary)
    {
        if (primary.ContainsGlyph(codepoint) || codepoint < 0x20) return primary;
        lock (_lock)
        {
            if (_fallback.TryGetValue((codepoint, bold), out var tf)) return tf;
            tf = _manager.MatchCharacter(primary.FamilyName, bold ? SKFontStyle.Bold : SKFontStyle.Normal, null, codepoint)
                 ?? primary; // nothing has it: the primary draws its missing-glyph box
            _fallback[(codepoint, bold)] = tf;
            return tf;
        }
    }

    /// <summary>Advance width of text at a font size, over its fallback runs.</summary>
    public float Measure(string text, float size, bool bold = false)
    {
        float w = 0;
        foreach (var (run, tf) in Runs(text, bold))
        {
            using var font = CreateFont(tf, size);
            w += font.MeasureText(run);
        }
        return w;
    }

    /// <summary>An antialiased font for text (cells are drawn without antialiasing elsewhere).</summary>
    public static SKFont CreateFont(SKTypeface typeface, float size) =>
        new(typeface, size) { Edging = SKFontEdging.Antialias, Subpixel = true, Hinting = SKFontHinting.Slight };

    /// <summary>Shortens text with "…" so that it fits maxWidth at a font size.</summary>
    public string Fit(string text, float size, float maxWidth, bool bold = false)
    {
        if (Measure(text, size, bold) <= maxWidth) return text;
        var runes = text.EnumerateRunes().ToList();
        int lo = 0, hi = runes.Count;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (Measure(Join(runes, mid) + "…", size, bold) <= maxWidth) lo = mid; else hi = mid - 1;
        }
        return Join(runes, lo) + "…";
    }

    private static string Join(List<Rune> runes, int n)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++) sb.Append(runes[i].ToString());
        return sb.ToString();
    }
}
