using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using Microsoft.Playwright;

namespace AttnScope.Tests.Web;

/// <summary>What the browser tests do to a viewer page: wait for it, point the mouse at things, read exports.</summary>
public static class ViewerPage
{
    public static async Task WaitReadyAsync(IPage page)
    {
        await page.WaitForFunctionAsync("() => window.attnscope && window.attnscope.viewer && window.attnscope.viewer.timings.firstPaint !== null",
            null, new PageWaitForFunctionOptions { Timeout = 20000 });
        await SettleAsync(page);
    }

    /// <summary>Waits until the current view has drawn the current state, and a frame has passed.</summary>
    public static async Task SettleAsync(IPage page)
    {
        await page.EvaluateAsync("() => window.attnscope.viewer.busy");
        await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
    }

    public static async Task<(float X, float Y)> PointAsync(IPage page, string expression, params object[] args)
    {
        var e = await page.EvaluateAsync<JsonElement>($"(a) => window.attnscope.viewer.current.{expression}(...a)", args);
        await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
        return (e.GetProperty("x").GetSingle(), e.GetProperty("y").GetSingle());
    }

    public static async Task HoverTokenAsync(IPage page, string side, int index)
    {
        var (x, y) = await PointAsync(page, "tokenPoint", side, index);
        await page.Mouse.MoveAsync(x, y);
        await SettleAsync(page);
    }

    public static async Task<XDocument> SvgAsync(IPage page) =>
        XDocument.Parse(await page.EvaluateAsync<string>("() => window.attnscope.renderSvg()"));

    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>(head, query, key) of every line in an SVG export of the head view.</summary>
    public static List<(int Head, int Q, int K)> Lines(XDocument svg) =>
        svg.Descendants(Svg + "line").Where(l => l.Attribute("data-head") is not null)
            .Select(l => ((int)l.Attribute("data-head")!, (int)l.Attribute("data-q")!, (int)l.Attribute("data-k")!)).ToList();

    public static List<string> Texts(XDocument svg) => svg.Descendants(Svg + "text").Select(t => t.Value).ToList();

    public static Task<string> TooltipAsync(IPage page, string field) =>
        page.Locator($".as-tooltip [data-field=\"{field}\"]").TextContentAsync()!;

    public static float ParseValue(string text) => float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    public static async Task SetControlAsync(IPage page, string control, string value)
    {
        await page.Locator($"[data-control=\"{control}\"]").SelectOptionAsync(value);
        await SettleAsync(page);
    }

    public static async Task ClickTabAsync(IPage page, string view)
    {
        await page.Locator($".as-tab[data-view=\"{view}\"]").ClickAsync();
        await SettleAsync(page);
    }
}
