using System.Globalization;
using System.Text.Json;
using AttnScope.Analyses.Speech;
using AttnScope.Analyses.Vision;
using AttnScope.Capture;
using AttnScope.Sources.Audio;
using AttnScope.Sources.Tokenization;
using AttnScope.Sources.Vision;
using AttnScope.Tests.Speech;
using AttnScope.Tests.Support;
using AttnScope.Views.Vision;
using AttnScope.Web.Server;
using Microsoft.Playwright;

namespace AttnScope.Tests.Web;

/// <summary>
/// Issue 12 in the interactive viewer: a speech capture (the tiny random Whisper of Golden/tiny-whisper, whose
/// attention WhisperGoldenTests checks against PyTorch) opens in the Audio tab, and a CLIP capture (Golden/tiny-clip,
/// checked by ClipGoldenTests) in the Image–text tab, on the offline page from file:// and in serve. What the page
/// draws (the canvases' data-overlay, the bars' pixels, the words' colours) is compared with values read from the
/// saved capture file in C# here — cross attention rows, the relevance analyses — an indexing path independent of the
/// page's decoding of its sections.
/// </summary>
[Collection("browser")]
public sealed class MediaViewerTests(ViewerFixture fx)
{
    // ---- speech ----

    private static AttentionCapture WhisperCapture(string dir)
    {
        int rate = 16000, n = (int)(0.6 * rate);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double t = (double)i / rate;
            x[i] = (float)(0.3 * Math.Sin(2 * Math.PI * 300 * t) * (t < 0.25 ? 1 : 0) + 0.3 * Math.Sin(2 * Math.PI * 1800 * t) * (t > 0.35 ? 1 : 0));
        }
        var wav = Path.Combine(dir, "clip.wav");
        AudioFrontEndTests.WriteWav(wav, 1, 16, rate, [x]);
        var model = WhisperModel.Load(WhisperGoldenTests.Folder);
        var cap = SpeechCapture.Capture(model, WavReader.Load(wav), wav, "tiny-whisper", maxNew: 6);
        var path = Path.Combine(dir, "speech.safetensors");
        cap.Save(path);
        return AttentionCapture.Load(path);
    }

    /// <summary>Cross attention of row r over the audio frames, for the (layer, head) pairs, their mean (in double).</summary>
    private static float[] CrossRow(AttentionCapture cap, IReadOnlyList<(int L, int H)> pairs, int r)
    {
        var cross = cap.Stack(AttentionStack.Cross).Attention; // [L, H, n, F]
        int n = cross.Shape[2], F = cross.Shape[3];
        int frames = SpeechLayout.Require(cap).AudioFrames(F);
        var acc = new double[frames];
        foreach (var (l, h) in pairs)
        {
            var m = cross.Slice(l, h);
            for (int f = 0; f < frames; f++) acc[f] += m[r * F + f];
        }
        return acc.Select(v => (float)(v / pairs.Count)).ToArray();
    }

    private static int ArgMax(float[] v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /// <summary>A screenshot of the page down to the view's caption, in the temporary folder (looked at by hand;
    /// docs/images holds one of each).</summary>
    private static async Task ShotAsync(IPage page, string last, string name)
    {
        var box = (await page.Locator(last).BoundingBoxAsync())!;
        await page.ScreenshotAsync(new PageScreenshotOptions
        {
            Path = Path.Combine(Path.GetTempPath(), name),
            Clip = new Clip { X = 0, Y = 0, Width = 1400, Height = Math.Min(900, box.Y + box.Height + 12) },
        });
    }

    private static float[] Floats(string? json) => JsonSerializer.Deserialize<float[]>(json!)!;

    private static async Task CheckAudioViewAsync(IPage page, AttentionCapture cap, List<string> problems, string shot)
    {
        await ViewerPage.WaitReadyAsync(page);
        await ViewerPage.ClickTabAsync(page, "audio");
        var canvas = page.Locator(".as-audio-canvas");
        await canvas.WaitForAsync();
        var layout = SpeechLayout.Require(cap);
        int P = layout.PromptLength;
        // The spectrogram is drawn: many colours before any hover.
        int colours = await page.EvaluateAsync<int>(@"() => { const c = document.querySelector('.as-audio-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, Math.round(c.height * 0.45)).data, s = new Set();
            for (let i = 0; i < d.length; i += 4 * 5) s.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]); return s.size; }");
        Assert.True(colours > 40, $"the spectrogram is not drawn ({colours} colours)");
        // The header names the inputs: the audio file and the transcript.
        Assert.StartsWith("audio", await page.Locator(".as-input[data-text=\"0\"] .as-input-name").TextContentAsync());
        Assert.StartsWith("transcript", await page.Locator(".as-input[data-text=\"1\"] .as-input-name").TextContentAsync());
        // The tokens are the produced ones, as text.
        var labels = await page.Locator(".as-audio-tokens .as-strip-token").AllTextContentsAsync();
        Assert.Equal(cap.TargetTokens.Count - P, labels.Count);

        async Task Busy() => await page.EvaluateAsync("() => window.attnscope.viewer.views.audio.busy");
        await page.SelectOptionAsync("[data-control='audio-layer']", "1");
        await page.SelectOptionAsync("[data-control='audio-heads']", "2");
        // Hover produced token P + 1: the step (row) P fed token P and produced it.
        int j = P + 1, row = j - 1;
        var pt = await page.EvaluateAsync<JsonElement>($"() => window.attnscope.viewer.views.audio.strip.point({j})");
        await page.Mouse.MoveAsync(pt.GetProperty("x").GetSingle(), pt.GetProperty("y").GetSingle());
        await page.WaitForFunctionAsync($"() => document.querySelector('.as-audio-canvas').dataset.row === '{row}'");
        await Busy();
        var drawn = Floats(await canvas.GetAttributeAsync("data-overlay"));
        var expected = CrossRow(cap, [(1, 2)], row);
        Assert.Equal(expected.Length, drawn.Length);
        for (int f = 0; f < expected.Length; f++) Assert.True(Math.Abs(expected[f] - drawn[f]) <= 1e-6, $"frame {f}: drawn {drawn[f]}, capture {expected[f]}");
        int best = ArgMax(expected);
        // The bars in the strip: the tallest is at the frame with the highest cross attention.
        var heights = await page.EvaluateAsync<int[]>(@"() => { const v = window.attnscope.viewer.views.audio, c = v.canvas, r = c.getBoundingClientRect();
            const k = c.width / r.width, box = v.stripBox(), top = Math.round((box.top - r.top) * k), bottom = Math.round((box.bottom - r.top) * k);
            const ctx = c.getContext('2d'), out = [];
            for (let f = 0; f < v.frames; f++) {
              const x = Math.round((v.frameX(f) - r.left) * k), col = ctx.getImageData(x, top, 1, bottom - top).data;
              let h = 0; for (let y = 0; y < bottom - top; y++) { const i = y * 4; if (col[i] > 200 && col[i + 1] > 60 && col[i + 1] < 120 && col[i + 2] < 60) { h = bottom - top - y; break; } }
              out.push(h);
            } return out; }");
        Assert.Equal(expected.Length, heights.Length);
        Assert.Equal(best, Array.IndexOf(heights, heights.Max()));
        // The spectrogram is left unveiled at that frame (the page's argmax, marked on the time axis).
        Assert.Equal(best.ToString(CultureInfo.InvariantCulture), await canvas.GetAttributeAsync("data-argmax"));
        await ShotAsync(page, ".as-audio-caption", shot);

        // Pin it by a click; then the alignment heads' mean (no alignment heads in the model: the upper half's).
        await page.Mouse.ClickAsync(pt.GetProperty("x").GetSingle(), pt.GetProperty("y").GetSingle());
        await page.Mouse.MoveAsync(5, 5);
        await page.SelectOptionAsync("[data-control='audio-heads']", "align");
        await Busy();
        Assert.Equal(row.ToString(CultureInfo.InvariantCulture), await canvas.GetAttributeAsync("data-row"));
        var cross = cap.Stack(AttentionStack.Cross);
        var heads = layout.AlignmentHeads ?? WordAlignment.DefaultHeads(cross.Layers, cross.Heads);
        drawn = Floats(await canvas.GetAttributeAsync("data-overlay"));
        expected = CrossRow(cap, heads, row);
        for (int f = 0; f < expected.Length; f++) Assert.True(Math.Abs(expected[f] - drawn[f]) <= 1e-6, $"alignment heads, frame {f}: drawn {drawn[f]}, capture {expected[f]}");

        // Every head of every layer, their mean.
        await page.SelectOptionAsync("[data-control='audio-heads']", "all");
        await Busy();
        var all = Enumerable.Range(0, cross.Layers).SelectMany(l => Enumerable.Range(0, cross.Heads).Select(h => (l, h))).ToList();
        drawn = Floats(await canvas.GetAttributeAsync("data-overlay"));
        expected = CrossRow(cap, all, row);
        for (int f = 0; f < expected.Length; f++) Assert.True(Math.Abs(expected[f] - drawn[f]) <= 1e-6, $"all heads, frame {f}: drawn {drawn[f]}, capture {expected[f]}");
        await page.SelectOptionAsync("[data-control='audio-heads']", "align");
        await Busy();

        // Hovering the spectrogram at a frame colours the tokens by their step's attention to it (relative to the
        // strongest token there).
        int at = 10;
        float fx = await page.EvaluateAsync<float>($"() => window.attnscope.viewer.views.audio.frameX({at})");
        var cbox = (await canvas.BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(fx, cbox.Y + 60);
        await page.WaitForFunctionAsync("() => document.querySelector('.as-audio-tokens').dataset.values !== ''");
        await page.EvaluateAsync("() => new Promise(r => setTimeout(r, 50))");
        var tokenValues = await page.EvaluateAsync<Dictionary<string, double>>("() => JSON.parse(document.querySelector('.as-audio-tokens').dataset.values)");
        var atFrame = Enumerable.Range(P, cap.TargetTokens.Count - P).ToDictionary(t => t, t => CrossRow(cap, heads, t - 1)[at]);
        float top = atFrame.Values.Max();
        Assert.Equal(atFrame.Count, tokenValues.Count);
        foreach (var (t, val) in atFrame) Assert.Equal(val / top, tokenValues[t.ToString(CultureInfo.InvariantCulture)], 5);
        await page.Mouse.MoveAsync(5, 5);

        // The word alignment the page holds is WordAlignment's on the capture, with the default timing heuristics.
        var align = WordAlignment.Align(cap, null, new TimingOptions());
        Assert.Equal("heuristics", (await page.EvaluateAsync<string>("() => window.attnscope.viewer.data.meta.speech.alignment.timing")));
        var words = await page.EvaluateAsync<JsonElement>("() => window.attnscope.viewer.data.meta.speech.alignment.words");
        Assert.Equal(align.Words.Count, words.GetArrayLength());
        for (int w = 0; w < align.Words.Count; w++)
        {
            Assert.Equal(align.Words[w].Start, words[w].GetProperty("start").GetDouble(), 9);
            Assert.Equal(align.Words[w].End, words[w].GetProperty("end").GetDouble(), 9);
        }

        // Keyboard: Escape releases; along the tokens with the arrows, Enter pins.
        var first = page.Locator(".as-audio-tokens .as-strip-token").First;
        await first.FocusAsync();
        await page.Keyboard.PressAsync("Escape");
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("Enter");
        await Busy();
        Assert.Equal((P + 2).ToString(CultureInfo.InvariantCulture), await canvas.GetAttributeAsync("data-pinned"));
        Assert.Equal((P + 1).ToString(CultureInfo.InvariantCulture), await canvas.GetAttributeAsync("data-row"));
        await page.Keyboard.PressAsync("Escape");
        await page.Locator("[data-control='audio-layer']").FocusAsync(); // the tokens lose focus: nothing hovered

        // The player's decoding steps: with nothing pinned or hovered, each step shows its own row.
        await page.SelectOptionAsync("[data-control='player-mode']", "steps");
        await ViewerPage.SettleAsync(page);
        await page.ClickAsync(".as-player button[title='next frame']");
        await ViewerPage.SettleAsync(page);
        await Busy();
        Assert.Equal("1", await canvas.GetAttributeAsync("data-row"));
        drawn = Floats(await canvas.GetAttributeAsync("data-overlay"));
        expected = CrossRow(cap, heads, 1);
        for (int f = 0; f < expected.Length; f++) Assert.True(Math.Abs(expected[f] - drawn[f]) <= 1e-6, $"player step, frame {f}");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task OfflinePageShowsTheAudioTabAndHoverDrawsTheCapturedCrossAttention()
    {
        using var dir = new TempDir();
        var cap = WhisperCapture(dir.Path);
        var url = fx.OfflinePage(cap, "speech");
        Assert.StartsWith("file://", url);
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await CheckAudioViewAsync(page, cap, problems, "attnscope-audio-offline.png");
    }

    [Fact]
    public async Task ServedViewerOpensASpeechCaptureInTheAudioTab()
    {
        using var dir = new TempDir();
        var cap = WhisperCapture(dir.Path);
        await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { Port = 0, CapturesDir = dir.Path });
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(server.Address + "?open=speech.safetensors");
        await CheckAudioViewAsync(page, cap, problems, "attnscope-audio-served.png");
    }

    // ---- CLIP ----

    private static AttentionCapture ClipCaptureOf(string dir)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "Golden", "tiny-clip");
        var image = Path.Combine(folder, "image.png");
        var cap = ClipCapture.Capture(ClipModel.Load(folder), ClipTokenizer.Load(folder), ImageFile.Load(image), image, "a photo of a cat", "tiny-clip");
        var path = Path.Combine(dir, "clip.safetensors");
        cap.Save(path);
        return AttentionCapture.Load(path);
    }

    private static async Task CheckClipViewAsync(IPage page, AttentionCapture cap, List<string> problems, string shot)
    {
        await ViewerPage.WaitReadyAsync(page);
        await ViewerPage.ClickTabAsync(page, "clip");
        var canvas = page.Locator(".as-clip-canvas");
        await canvas.WaitForAsync();
        var v = VisionLayout.Require(cap);
        var whole = cap.Analysis(ClipCapture.ImageRelevance)!.Tensor.Data;
        var text = cap.Analysis(ClipCapture.TextRelevance)!.Tensor.Data;
        var wr = cap.Analysis(ClipCapture.WordRelevance)!;
        var wordTokens = wr.Info["tokens"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray();
        // Nothing hovered: the whole text's relevance on the image, the words coloured by the text relevance.
        var drawn = Floats(await canvas.GetAttributeAsync("data-overlay"));
        Assert.Equal(whole.Length, drawn.Length);
        for (int p = 0; p < whole.Length; p++) Assert.True(Math.Abs(whole[p] - drawn[p]) <= 1e-6, $"patch {p}");
        var colours = await page.EvaluateAsync<Dictionary<string, double>>("() => JSON.parse(document.querySelector('.as-clip-words').dataset.values)");
        double maxText = Enumerable.Range(0, text.Length).Where(i => !cap.TargetTokens[i].IsSpecial).Max(i => text[i]);
        for (int i = 0; i < text.Length; i++)
        {
            if (cap.TargetTokens[i].IsSpecial) { Assert.False(colours.ContainsKey(i.ToString(CultureInfo.InvariantCulture))); continue; }
            Assert.Equal(text[i] / maxText, colours[i.ToString(CultureInfo.InvariantCulture)], 5);
        }

        // Hover the word 'cat' (text token 5): its own map lights the image.
        int cat = 5, w = Array.IndexOf(wordTokens, cat);
        Assert.Equal("cat", cap.TargetTokens[cat].Text);
        var pt = await page.EvaluateAsync<JsonElement>($"() => window.attnscope.viewer.views.clip.wordPoint({cat})");
        await page.Mouse.MoveAsync(pt.GetProperty("x").GetSingle(), pt.GetProperty("y").GetSingle());
        await page.WaitForFunctionAsync($"() => document.querySelector('.as-clip-canvas').dataset.word === '{cat}'");
        drawn = Floats(await canvas.GetAttributeAsync("data-overlay"));
        var map = wr.Tensor.Slice(w).ToArray();
        for (int p = 0; p < map.Length; p++) Assert.True(Math.Abs(map[p] - drawn[p]) <= 1e-6, $"'cat', patch {p}: drawn {drawn[p]}, capture {map[p]}");
        // The brightest patch on screen is the map's strongest: its centre is the most orange (red minus green).
        var orange = await page.EvaluateAsync<double[]>(@"() => { const v = window.attnscope.viewer.views.clip, c = v.canvas, r = c.getBoundingClientRect(), k = c.width / r.width;
            const vm = v.vm, ctx = c.getContext('2d'), out = [];
            for (let row = 0; row < vm.gridRows; row++) for (let col = 0; col < vm.gridCols; col++) {
              const q = v.patchPoint(row, col), d = ctx.getImageData(Math.round((q.x - r.left) * k) - 3, Math.round((q.y - r.top) * k) - 3, 7, 7).data;
              let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i] - d[i + 1]; out.push(s / (d.length / 4)); } return out; }");
        Assert.Equal(ArgMax(map), Array.IndexOf(orange, orange.Max()));
        await ShotAsync(page, ".as-clip-caption", shot);

        // Pin the word, then hover patch (1, 2): the words are coloured by their maps there.
        await page.Mouse.ClickAsync(pt.GetProperty("x").GetSingle(), pt.GetProperty("y").GetSingle());
        var pp = await page.EvaluateAsync<JsonElement>("() => window.attnscope.viewer.views.clip.patchPoint(1, 2)");
        await page.Mouse.MoveAsync(pp.GetProperty("x").GetSingle(), pp.GetProperty("y").GetSingle());
        int patch = 1 * v.GridCols + 2;
        await page.WaitForFunctionAsync($"() => document.querySelector('.as-clip-canvas').dataset.patch === '{patch}'");
        Assert.Equal(cat.ToString(CultureInfo.InvariantCulture), await canvas.GetAttributeAsync("data-word")); // still pinned
        colours = await page.EvaluateAsync<Dictionary<string, double>>("() => JSON.parse(document.querySelector('.as-clip-words').dataset.values)");
        double maxAt = wordTokens.Select((t, k) => wr.Tensor.Slice(k)[patch]).Max();
        for (int k = 0; k < wordTokens.Length; k++)
            Assert.Equal(wr.Tensor.Slice(k)[patch] / maxAt, colours[wordTokens[k].ToString(CultureInfo.InvariantCulture)], 5);

        // Keyboard: the canvas takes focus, arrows move, Enter pins a patch; Escape on the words releases the word.
        await canvas.FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await page.Keyboard.PressAsync("ArrowDown");
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForFunctionAsync($"() => document.querySelector('.as-clip-canvas').dataset.patch === '{v.GridCols + 1}'");
        await page.Locator($".as-clip-words .as-strip-token[data-token='{cat}']").FocusAsync();
        await page.Keyboard.PressAsync("Escape");
        await page.Mouse.MoveAsync(5, 5);
        await page.Locator(".as-clip-canvas").FocusAsync();
        await page.WaitForFunctionAsync("() => document.querySelector('.as-clip-canvas').dataset.word === ''");

        // The image tower's own attention is the Image tab's (shared patch grid): [CLS], layer 1, head 0.
        await ViewerPage.ClickTabAsync(page, "image");
        await ViewerPage.SetControlAsync(page, "layer", "1");
        await ViewerPage.SetControlAsync(page, "head", "0");
        await page.ClickAsync(".as-vision-token[data-token='0']");
        await page.WaitForFunctionAsync("() => document.querySelector('.as-vision-canvas').dataset.query === '0'");
        await ViewerPage.SettleAsync(page);
        drawn = Floats(await page.Locator(".as-vision-canvas").GetAttributeAsync("data-overlay"));
        var enc = cap.Stack(AttentionStack.Encoder).Attention.Slice(1, 0);
        var cls = v.PatchValues(enc[..cap.Tokens.Count]);
        for (int p = 0; p < cls.Length; p++) Assert.True(Math.Abs(cls[p] - drawn[p]) <= 1e-6, $"image tower [CLS], patch {p}");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task OfflinePageShowsTheImageTextTabAndHoverDrawsTheWordsRelevance()
    {
        using var dir = new TempDir();
        var cap = ClipCaptureOf(dir.Path);
        var url = fx.OfflinePage(cap, "clip");
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(url);
        await CheckClipViewAsync(page, cap, problems, "attnscope-clip-offline.png");
    }

    [Fact]
    public async Task ServedViewerOpensAClipCaptureInTheImageTextTab()
    {
        using var dir = new TempDir();
        var cap = ClipCaptureOf(dir.Path);
        await using var server = await ViewerServer.StartAsync(new ViewerServerOptions { Port = 0, CapturesDir = dir.Path });
        var (context, page, problems) = await fx.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(server.Address + "?open=clip.safetensors");
        await CheckClipViewAsync(page, cap, problems, "attnscope-clip-served.png");
    }

    /// <summary>Token text is data: a produced token and a word that look like HTML are shown as text, nothing is
    /// injected, in both tabs.</summary>
    [Fact]
    public async Task TokenTextIsShownAsText()
    {
        using var dir = new TempDir();
        var s = WhisperCapture(dir.Path);
        int P = SpeechLayout.Require(s).PromptLength;
        var targets = s.TargetTokens.ToList();
        targets[P] = targets[P] with { Text = ViewerFixture.XssToken };
        s = new AttentionCapture(s.Metadata, s.Tokens, s.Stacks.Values.ToList(), targets, s.Analyses.Values.ToList());
        var c = ClipCaptureOf(dir.Path);
        var words = c.TargetTokens.ToList();
        words[2] = words[2] with { Text = ViewerFixture.XssToken };
        c = new AttentionCapture(c.Metadata, c.Tokens, c.Stacks.Values.ToList(), words, c.Analyses.Values.ToList());
        foreach (var (cap, name, tab, strip) in new[] { (s, "xss-speech", "audio", ".as-audio-tokens"), (c, "xss-clip", "clip", ".as-clip-words") })
        {
            var (context, page, problems) = await fx.NewPageAsync();
            await using var _ = context;
            await page.GotoAsync(fx.OfflinePage(cap, name));
            await ViewerPage.WaitReadyAsync(page);
            await ViewerPage.ClickTabAsync(page, tab);
            var texts = await page.Locator($"{strip} .as-strip-token").AllTextContentsAsync();
            Assert.Contains(ViewerFixture.XssToken, texts);
            await page.HoverAsync($"{strip} .as-strip-token >> nth=0");
            Assert.Equal(0, await page.Locator(".as-root img").CountAsync());
            Assert.Empty(problems);
        }
    }

    /// <summary>The description carries the media parts only for such captures; a text capture has neither.</summary>
    [Fact]
    public void DescriptionHasTheMediaPartsOnlyForMediaCaptures()
    {
        var meta = new AttnScope.Web.Data.ViewerData(fx.Small, "small").Meta("inline");
        Assert.Null(meta["speech"]);
        Assert.Null(meta["clip"]);
        using var dir = new TempDir();
        var speech = new AttnScope.Web.Data.ViewerData(WhisperCapture(dir.Path), "s").Meta("inline");
        var sm = speech["speech"]!;
        var layout = SpeechLayout.Require(AttentionCapture.Load(Path.Combine(dir.Path, "speech.safetensors")));
        // The 8-bit spectrogram decodes to the capture's log-mel within half a step.
        var bytes = Convert.FromBase64String(sm["mel"]!.GetValue<string>());
        float min = sm["melMin"]!.GetValue<float>(), max = sm["melMax"]!.GetValue<float>();
        Assert.Equal(layout.Mel.Data.Length, bytes.Length);
        for (int i = 0; i < bytes.Length; i++) Assert.True(Math.Abs(min + bytes[i] / 255f * (max - min) - layout.Mel.Data[i]) <= (max - min) / 255f * 0.51f, $"mel value {i}");
        Assert.Null(speech["clip"]);
    }
}
