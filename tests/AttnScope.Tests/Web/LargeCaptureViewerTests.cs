using AttnScope.Tests.Support;
using static AttnScope.Tests.Web.ViewerPage;

namespace AttnScope.Tests.Web;

/// <summary>Scale and legibility: a 1024-token capture stays usable, and 16+ head colours are told apart.</summary>
[Collection("browser")]
public sealed class LargeCaptureViewerTests(ViewerFixture fx)
{
    [Fact]
    public async Task HeadViewOf1024TokensIsWindowedAndHoversAnyToken()
    {
        var name = "long1024.safetensors";
        var capture = SyntheticCaptures.Realistic(1024, layers: 1, heads: 4);
        capture.Save(Path.Combine(fx.CapturesDir, name));
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(fx.Server.Address + "?open=" + name);
        await WaitReadyAsync(page);
        // The canvas is the size of the window, not of 1024 rows.
        var canvasHeight = await page.EvaluateAsync<double>("() => document.querySelector('.as-head-view canvas').getBoundingClientRect().height");
        Assert.InRange(canvasHeight, 100, 900);
        // A token far down scrolls into view and its lines are drawn.
        await HoverTokenAsync(page, "q", 1000);
        var lines = Lines(await SvgAsync(page));
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Equal(1000, l.Q));
        Assert.Contains(capture.Tokens[1000].Text, Texts(await SvgAsync(page)));
        // Head 0 looks at the previous token: its strongest line goes to 999.
        var strongest = await page.EvaluateAsync<int>(@"() => { const l = attnscope.viewer.current.layer; let b = 0;
            for (let k = 0; k < l.nk; k++) if (l.value(0, 1000, k) > l.value(0, 1000, b)) b = k; return b; }");
        Assert.Equal(999, strongest);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task SixteenHeadColoursAreClearlyDifferent()
    {
        var (context, page, _) = await fx.NewPageAsync();
        await using var __ = context;
        await page.GotoAsync(fx.OfflinePage(fx.Small, "colours"));
        await WaitReadyAsync(page);
        var colours = await page.EvaluateAsync<string[]>("() => window.attnscope.headColors(24)");
        Assert.Equal(24, colours.Distinct().Count());
        var lab = colours.Take(16).Select(Lab).ToList();
        for (int i = 0; i < lab.Count; i++)
            for (int j = i + 1; j < lab.Count; j++)
            {
                double d = Math.Sqrt(Math.Pow(lab[i].L - lab[j].L, 2) + Math.Pow(lab[i].A - lab[j].A, 2) + Math.Pow(lab[i].B - lab[j].B, 2));
                Assert.True(d >= 20, $"heads {i} ({colours[i]}) and {j} ({colours[j]}) are only ΔE {d:0.0} apart");
            }
    }

    /// <summary>sRGB hex to CIELAB (D65).</summary>
    private static (double L, double A, double B) Lab(string hex)
    {
        double Lin(int i)
        {
            double c = Convert.ToInt32(hex.Substring(i, 2), 16) / 255.0;
            return c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
        }
        double r = Lin(1), g = Lin(3), b = Lin(5);
        double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047, y = 0.2126 * r + 0.7152 * g + 0.0722 * b, z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        double F(double t) => t > 0.008856 ? Math.Cbrt(t) : 7.787 * t + 16.0 / 116;
        return (116 * F(y) - 16, 500 * (F(x) - F(y)), 200 * (F(y) - F(z)));
    }
}
